"""The mails' words and looks: plain-text and HTML templates in ``templates/``, filled with the words of
the site's language (en, uk or de, like the widget). No images, no remote resources, no tracking."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

LANGUAGES = ("en", "uk", "de")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "confirm_subject": "Confirm your notifications from {site}",
        "privacy_export_subject": "Your copy of your comment data from {site}",
        "privacy_erase_subject": "Erasing your comments on {site}",
        "privacy_export_intro": "Someone (we hope you) asked {site} for a copy (JSON) of everything its "
        "comment server keeps under this address. Open the link and press the button to download it.",
        "privacy_erase_intro": "Someone (we hope you) asked {site} to erase every comment signed with this "
        "address, and its notifications and log-ins. Open the link and press the button to erase them.",
        "privacy_open": "Open",
        "privacy_expiry": "The link works once, within {minutes} minutes. If you did not ask for it, ignore "
        "this mail: nothing happens until the button is pressed.",
        "login_subject": "Your log-in link for {site}",
        "login_intro": "Someone (we hope you) asked to log in to comment on {site} with this address.",
        "login_button": "Log in",
        "page_login_failed": "You could not be logged in",
        "page_login_done": "Logging you in…",
        "page_login_declined": "You were not logged in",
        "page_login_close": "You can close this window.",
        "page_login_orphan": "Done. You can close this window: the page you came from finishes logging "
        "you in.",
        "page_login_link": "Log in to comment on {site}",
        "page_login_as": "You are logging in as {email}.",
        "login_expiry": "The link works once, within {minutes} minutes. If you did not ask for it, ignore "
        "this mail.",
        "confirm_intro": "Someone, hopefully you, asked {site} to send this address e-mail about:",
        "confirm_button": "Confirm",
        "confirm_ignore": "If it was not you, ignore this mail: nothing is sent until you confirm.",
        "what_thread": "New comments on “{title}”",
        "what_replies": "Replies to your comment on “{title}”",
        "what_posts": "New posts on {site}",
        "comments_subject": "New comments on “{title}”",
        "comments_intro": "New comments on “{title}”:",
        "replies_subject": "New replies to your comment on “{title}”",
        "replies_intro": "Someone replied to your comment on “{title}”:",
        "wrote": "{name} wrote:",
        "anonymous": "Anonymous",
        "read_thread": "Read the discussion",
        "post_subject": "New post on {site}: {title}",
        "post_intro": "{site} has published a new post:",
        "read_post": "Read it",
        "why": "You get this mail because you subscribed at {site}.",
        "unsubscribe": "Unsubscribe",
        "manage": "All your subscriptions",
        "test_subject": "Rejoinder test mail",
        "test_text": "This mail shows that Rejoinder at {server} can send mail.",
        "page_confirm": "Confirm your notifications",
        "page_confirm_lead": "Press the button to get e-mail at {email} about:",
        "page_confirmed": "Confirmed. You will get e-mail at {email} about:",
        "page_unsubscribe": "Unsubscribe",
        "page_unsubscribe_lead": "Press the button to stop this e-mail: {what}.",
        "page_unsubscribed": "Done: no more e-mail about {what}.",
        "page_gone": "This subscription is cancelled already.",
        "page_manage": "Your subscriptions",
        "page_manage_lead": "What {email} gets e-mail about:",
        "page_none": "Nothing: there are no subscriptions for this address.",
        "page_cancel": "Cancel",
        "page_cancel_all": "Cancel all",
        "page_bad_link": "This link does not work",
        "pending": "(not confirmed yet)",
        "mod_subject": "Comments to moderate on {site} ({count})",
        "mod_intro": "These comments on {site} need a moderator:",
        "mod_held": "Held for moderation",
        "mod_reported": "Held after readers' reports",
        "mod_report": "Reported by a reader",
        "mod_new": "New comment",
        "mod_on": "{name} on “{title}”:",
        "approve": "Approve",
        "spam": "Mark as spam",
        "mod_queue": "Open the moderation queue",
        "mod_links": "Each link opens a page with a button; it works once, for a week.",
        "page_moderate": "Moderate a comment",
        "page_done_approve": "Approved: the comment is published.",
        "page_done_spam": "Marked as spam: the filter learns from it.",
    },
    "uk": {
        "confirm_subject": "Підтвердьте сповіщення від {site}",
        "privacy_export_subject": "Копія даних ваших коментарів з {site}",
        "privacy_erase_subject": "Стирання ваших коментарів на {site}",
        "privacy_export_intro": "Хтось (сподіваємося, ви) попросив {site} про копію (JSON) усього, що сервер "
        "коментарів зберігає під цією адресою. Відкрийте посилання й натисніть кнопку, щоб її завантажити.",
        "privacy_erase_intro": "Хтось (сподіваємося, ви) попросив {site} стерти всі коментарі з цією "
        "адресою, а також її сповіщення та входи. Відкрийте посилання й натисніть кнопку, щоб їх стерти.",
        "privacy_open": "Відкрити",
        "privacy_expiry": "Посилання працює один раз протягом {minutes} хвилин. Якщо ви не просили його, "
        "не зважайте на цей лист: нічого не станеться, доки не натиснуто кнопку.",
        "login_subject": "Ваше посилання для входу на {site}",
        "login_intro": "Хтось (сподіваємося, ви) попросив увійти з цією адресою, щоб коментувати на {site}.",
        "login_button": "Увійти",
        "page_login_failed": "Не вдалося увійти",
        "page_login_done": "Входимо…",
        "page_login_declined": "Ви не увійшли",
        "page_login_close": "Можете закрити це вікно.",
        "page_login_orphan": "Готово. Можете закрити це вікно: сторінка, з якої ви прийшли, завершить вхід.",
        "page_login_link": "Увійдіть, щоб коментувати на {site}",
        "page_login_as": "Ви входите як {email}.",
        "login_expiry": "Посилання працює один раз протягом {minutes} хвилин. Якщо ви не просили його, "
        "не зважайте на цей лист.",
        "confirm_intro": "Хтось, сподіваємося, ви, попросив {site} надсилати на цю адресу листи про:",
        "confirm_button": "Підтвердити",
        "confirm_ignore": "Якщо це були не ви, проігноруйте цей лист: "
        "без підтвердження нічого не надсилається.",
        "what_thread": "Нові коментарі до «{title}»",
        "what_replies": "Відповіді на ваш коментар до «{title}»",
        "what_posts": "Нові публікації на {site}",
        "comments_subject": "Нові коментарі до «{title}»",
        "comments_intro": "Нові коментарі до «{title}»:",
        "replies_subject": "Нові відповіді на ваш коментар до «{title}»",
        "replies_intro": "Хтось відповів на ваш коментар до «{title}»:",
        "wrote": "{name} пише:",
        "anonymous": "Анонім",
        "read_thread": "Читати обговорення",
        "post_subject": "Нова публікація на {site}: {title}",
        "post_intro": "{site} опублікував новий допис:",
        "read_post": "Читати",
        "why": "Ви отримали цей лист, бо підписалися на {site}.",
        "unsubscribe": "Відписатися",
        "manage": "Усі ваші підписки",
        "test_subject": "Тестовий лист Rejoinder",
        "test_text": "Цей лист показує, що Rejoinder на {server} може надсилати пошту.",
        "page_confirm": "Підтвердьте сповіщення",
        "page_confirm_lead": "Натисніть кнопку, щоб отримувати листи на {email} про:",
        "page_confirmed": "Підтверджено. Ви отримуватимете листи на {email} про:",
        "page_unsubscribe": "Відписатися",
        "page_unsubscribe_lead": "Натисніть кнопку, щоб більше не отримувати листи: {what}.",
        "page_unsubscribed": "Готово: більше жодних листів про {what}.",
        "page_gone": "Цю підписку вже скасовано.",
        "page_manage": "Ваші підписки",
        "page_manage_lead": "Про що {email} отримує листи:",
        "page_none": "Ні про що: для цієї адреси немає підписок.",
        "page_cancel": "Скасувати",
        "page_cancel_all": "Скасувати всі",
        "page_bad_link": "Це посилання не працює",
        "pending": "(ще не підтверджено)",
        "mod_subject": "Коментарі для модерації на {site} ({count})",
        "mod_intro": "Ці коментарі на {site} чекають на модератора:",
        "mod_held": "Затримано для модерації",
        "mod_reported": "Затримано через скарги читачів",
        "mod_report": "Скарга читача",
        "mod_new": "Новий коментар",
        "mod_on": "{name} до «{title}»:",
        "approve": "Схвалити",
        "spam": "Позначити як спам",
        "mod_queue": "Відкрити чергу модерації",
        "mod_links": "Кожне посилання відкриває сторінку з кнопкою; воно діє один раз, протягом тижня.",
        "page_moderate": "Модерація коментаря",
        "page_done_approve": "Схвалено: коментар опубліковано.",
        "page_done_spam": "Позначено як спам: фільтр на цьому вчиться.",
    },
    "de": {
        "confirm_subject": "Bestätige deine Benachrichtigungen von {site}",
        "privacy_export_subject": "Deine Kopie deiner Kommentardaten von {site}",
        "privacy_erase_subject": "Löschung deiner Kommentare auf {site}",
        "privacy_export_intro": "Jemand (hoffentlich du) hat {site} um eine Kopie (JSON) von allem gebeten, "
        "was der Kommentar-Server unter dieser Adresse speichert. Öffne den Link und drücke den Knopf, "
        "um sie herunterzuladen.",
        "privacy_erase_intro": "Jemand (hoffentlich du) hat {site} gebeten, alle Kommentare mit dieser "
        "Adresse samt Benachrichtigungen und Anmeldungen zu löschen. Öffne den Link und drücke den "
        "Knopf, um sie zu löschen.",
        "privacy_open": "Öffnen",
        "privacy_expiry": "Der Link funktioniert einmal, innerhalb von {minutes} Minuten. Wenn du ihn nicht "
        "angefordert hast, ignoriere diese Mail: nichts geschieht, bevor der Knopf gedrückt wird.",
        "login_subject": "Dein Anmeldelink für {site}",
        "login_intro": "Jemand (hoffentlich du) möchte sich mit dieser Adresse anmelden, um auf {site} zu "
        "kommentieren.",
        "login_button": "Anmelden",
        "page_login_failed": "Du konntest nicht angemeldet werden",
        "page_login_done": "Du wirst angemeldet …",
        "page_login_declined": "Du wurdest nicht angemeldet",
        "page_login_close": "Du kannst dieses Fenster schließen.",
        "page_login_orphan": "Fertig. Du kannst dieses Fenster schließen: Die Seite, von der du kamst, "
        "schließt die Anmeldung ab.",
        "page_login_link": "Anmelden, um auf {site} zu kommentieren",
        "page_login_as": "Du meldest dich als {email} an.",
        "login_expiry": "Der Link funktioniert einmal, innerhalb von {minutes} Minuten. Wenn du ihn nicht "
        "angefordert hast, ignoriere diese Mail.",
        "confirm_intro": "Jemand, hoffentlich du, hat {site} gebeten, "
        "an diese Adresse E-Mails zu senden über:",
        "confirm_button": "Bestätigen",
        "confirm_ignore": "Wenn du es nicht warst, ignoriere diese Mail: "
        "ohne Bestätigung wird nichts gesendet.",
        "what_thread": "Neue Kommentare zu „{title}“",
        "what_replies": "Antworten auf deinen Kommentar zu „{title}“",
        "what_posts": "Neue Beiträge auf {site}",
        "comments_subject": "Neue Kommentare zu „{title}“",
        "comments_intro": "Neue Kommentare zu „{title}“:",
        "replies_subject": "Neue Antworten auf deinen Kommentar zu „{title}“",
        "replies_intro": "Jemand hat auf deinen Kommentar zu „{title}“ geantwortet:",
        "wrote": "{name} schrieb:",
        "anonymous": "Anonym",
        "read_thread": "Zur Diskussion",
        "post_subject": "Neuer Beitrag auf {site}: {title}",
        "post_intro": "{site} hat einen neuen Beitrag veröffentlicht:",
        "read_post": "Lesen",
        "why": "Du erhältst diese Mail, weil du dich bei {site} angemeldet hast.",
        "unsubscribe": "Abmelden",
        "manage": "Alle deine Abonnements",
        "test_subject": "Rejoinder-Testmail",
        "test_text": "Diese Mail zeigt, dass Rejoinder auf {server} Mails senden kann.",
        "page_confirm": "Bestätige deine Benachrichtigungen",
        "page_confirm_lead": "Drücke den Knopf, um an {email} E-Mails zu bekommen über:",
        "page_confirmed": "Bestätigt. Du bekommst an {email} E-Mails über:",
        "page_unsubscribe": "Abmelden",
        "page_unsubscribe_lead": "Drücke den Knopf, um diese E-Mails abzubestellen: {what}.",
        "page_unsubscribed": "Erledigt: keine E-Mails mehr über {what}.",
        "page_gone": "Dieses Abonnement ist schon gekündigt.",
        "page_manage": "Deine Abonnements",
        "page_manage_lead": "Worüber {email} E-Mails bekommt:",
        "page_none": "Nichts: für diese Adresse gibt es keine Abonnements.",
        "page_cancel": "Kündigen",
        "page_cancel_all": "Alle kündigen",
        "page_bad_link": "Dieser Link funktioniert nicht",
        "pending": "(noch nicht bestätigt)",
        "mod_subject": "Kommentare zur Moderation auf {site} ({count})",
        "mod_intro": "Diese Kommentare auf {site} brauchen eine Moderation:",
        "mod_held": "Zur Moderation zurückgehalten",
        "mod_reported": "Nach Meldungen von Lesern zurückgehalten",
        "mod_report": "Von einem Leser gemeldet",
        "mod_new": "Neuer Kommentar",
        "mod_on": "{name} zu „{title}“:",
        "approve": "Freigeben",
        "spam": "Als Spam markieren",
        "mod_queue": "Zur Moderationsliste",
        "mod_links": "Jeder Link öffnet eine Seite mit einem Knopf; er gilt einmal, eine Woche lang.",
        "page_moderate": "Kommentar moderieren",
        "page_done_approve": "Freigegeben: der Kommentar ist veröffentlicht.",
        "page_done_spam": "Als Spam markiert: der Filter lernt daraus.",
    },
}


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    html: str


class Letters:
    """Renders a letter (``templates/NAME.txt`` and ``NAME.html``) in a language."""

    @functools.cached_property
    def _env(self) -> Environment:
        # Made on the first letter, not with the server: Jinja costs about 2 MiB resident, and a server
        # that sends no mail never needs it.
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        return Environment(
            loader=FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def words(self, language: str) -> dict[str, str]:
        return WORDS[language if language in WORDS else "en"]

    def render(self, name: str, language: str, subject_key: str, **values: Any) -> Letter:
        words = self.words(language)

        def t(key: str, **fill: Any) -> str:
            return words[key].format(**fill)

        context = {"t": t, "lang": language, "site": "", "unsubscribe_url": "", "manage_url": "", **values}
        subject = t(subject_key, **{k: v for k, v in values.items() if isinstance(v, str)})
        return Letter(
            subject=" ".join(subject.split()),  # a title with a line break must not break the header
            text=self._env.get_template(f"{name}.txt").render(context),
            html=self._env.get_template(f"{name}.html").render(context),
        )


def describe(kind: str, language: str, site: str, title: str) -> str:
    """What a subscription of ``kind`` is about, in a few words."""
    words = WORDS[language if language in WORDS else "en"]
    key = {"posts": "what_posts", "thread": "what_thread"}.get(kind, "what_replies")
    return words[key].format(site=site, title=title)
