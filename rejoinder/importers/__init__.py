"""Importers: comments from WordPress (WXR), Disqus (XML export), Isso (its SQLite database), Remark42 (its
backup) and Rejoinder's own JSON export.

Each source module is a parser: a pure generator of ``records.ImportedComment`` (and ``records.Problem``
for what it could not read), streaming its file so memory stays flat. ``service`` writes what they yield:
URLs mapped and normalised, threads created, comments rendered and stored in small transactions, once.
"""
