"""The demo site: an article and a few threads of nested replies and likes, written for this project."""

from __future__ import annotations

from rejoinder import comments, likes
from rejoinder.comments import Client, NewComment
from rejoinder.context import Context
from rejoinder.errors import Conflict
from rejoinder.model import Author
from rejoinder.sites import create_site, update_site
from rejoinder.threads import read_page

SITE_KEY = "demo"
ARTICLE_PATH = "/demo/"
PRIVACY_PATH = "/demo/privacy"
ARTICLE_TITLE = "The quiet art of the tide pool"

# (key, parent key or None, author, body, liked by how many readers)
DEMO_COMMENTS = [
    (
        "a",
        None,
        "Marta",
        "Lovely piece. I took my kids to the rocks last weekend and we counted *eleven* "
        "anemones in one pool. Nobody believed me until I showed the photos.",
        3,
    ),
    (
        "b",
        "a",
        "Jonas",
        "Eleven is a lot! Was that at low spring tide? The lower pools are always busier.",
        1,
    ),
    (
        "c",
        "b",
        "Marta",
        "Yes, the morning after the full moon. The water went out further than I have ever seen it.",
        0,
    ),
    (
        "d",
        "c",
        "Ifeoma",
        "That's the trick. Check a tide table before you go — the spring lows are worth "
        "getting up early for.",
        2,
    ),
    (
        "e",
        None,
        "Tomasz",
        "A small correction: the crab in the third photo is a *shore crab*, not a velvet "
        "swimming crab. Easy to mix up, the eyes give it away.",
        4,
    ),
    ("f", "e", "Rejoinder demo", "Thanks, Tomasz — fixed in the caption.", 1),
    (
        "g",
        None,
        "Priya",
        "Please remind people to put the rocks back the way they found them. Whatever "
        "lives underneath needs the shade.\n\n> Turn a stone, then turn it back.\n\nMy grandmother's rule.",
        6,
    ),
    ("h", "g", "Sam", "My grandmother said exactly the same. Must be a universal grandmother rule.", 2),
]


def article_url(base_url: str) -> str:
    return base_url.rstrip("/") + ARTICLE_PATH


def cross_origin_url(host: str, port: int) -> str:
    """Where ``rejoinder demo`` serves another origin's page embedding the thread: the next port."""
    return f"http://{host}:{port + 1}"


def install_demo(ctx: Context, base_url: str, embed_origins: list[str] | None = None) -> str:
    """Create the demo site and its comments unless they exist; return the article's address.

    ``embed_origins`` are further origins allowed to embed the thread (the cross-origin demo page).
    """
    origins = []
    for origin in [base_url.rstrip("/"), *(embed_origins or [])]:
        origins += [origin, origin.replace("127.0.0.1", "localhost")]
    privacy_url = base_url.rstrip("/") + PRIVACY_PATH
    try:
        create_site(ctx, SITE_KEY, "Rejoinder demo", origins, privacy_url=privacy_url)
    except Conflict:
        update_site(ctx, SITE_KEY, add_origins=origins, privacy_url=privacy_url)
    url = article_url(base_url)
    if read_page(ctx, SITE_KEY, url, limit=1).comments:
        return url
    ids: dict[str, int] = {}
    for key, parent, name, body, liked_by in DEMO_COMMENTS:
        posted = comments.post_comment(
            ctx,
            NewComment(
                site=SITE_KEY,
                url=url,
                title=ARTICLE_TITLE,
                body=body,
                parent_id=ids[parent] if parent else None,
                author=Author(name),
            ),
            Client(user_agent="rejoinder demo"),
        )
        ids[key] = posted.comment.id
        for reader in range(liked_by):
            likes.set_like(ctx, posted.comment.id, f"demo-reader-{reader}", True)
    return url
