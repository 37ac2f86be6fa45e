"""Blog-spam signals and relevance to the article: each pattern of blog spam has its own reason in plain
words, readers' ordinary comments meet none of them, and the patterns typed in ``blog_patterns`` are all
kept from readers by a fresh site."""

from __future__ import annotations

import math

import pytest

from rejoinder.evaluation import pipeline_judge
from rejoinder.model import Author
from rejoinder.spam import blogspam, links, relevance
from rejoinder.spam.model import Model
from rejoinder.spam.submission import Page, Submission
from rejoinder.spam.verdict import Action
from tests.blog_patterns import BLOG_SPAM, PAGE, PAGE_DESCRIPTION, READERS

ARTICLE = Page(PAGE, PAGE_DESCRIPTION)


def reasons(text: str, name: str = "", website: str = "") -> list[str]:
    return [e.reason for e in blogspam.judge(text, Author(name, "", website))]


def verdict(text: str, name: str, website: str, title: str) -> object:
    return pipeline_judge(
        Submission(text, Author(name, "", website), page=Page(title, PAGE_DESCRIPTION)), Model.shipped()
    )


@pytest.mark.parametrize(("text", "name", "website", "title"), BLOG_SPAM)
def test_every_typed_blog_spam_pattern_is_kept_from_readers(
    text: str, name: str, website: str, title: str
) -> None:
    judged = pipeline_judge(
        Submission(text, Author(name, "", website), page=Page(title, PAGE_DESCRIPTION)), Model.shipped()
    )
    assert judged.action is not Action.PUBLISH, judged


def test_most_typed_blog_spam_goes_straight_to_spam() -> None:
    flagged = [
        pipeline_judge(
            Submission(t, Author(n, "", w), page=Page(p, PAGE_DESCRIPTION)), Model.shipped()
        ).is_spam
        for t, n, w, p in BLOG_SPAM
    ]
    assert sum(flagged) >= 0.75 * len(flagged)


def test_readers_comments_are_never_sent_to_spam_and_rarely_held() -> None:
    judged = [
        pipeline_judge(Submission(t, Author(n, "", w), page=Page(p, PAGE_DESCRIPTION)), Model.shipped())
        for t, n, w, p in READERS
    ]
    assert not any(v.is_spam for v in judged)
    assert sum(v.action is Action.HOLD for v in judged) <= 1
    for v in judged:
        assert not any("blog" in r or "brand" in r or "generic" in r for r in v.reasons), v


def test_a_phone_number_in_support_wording_is_named() -> None:
    assert reasons("Call our printer helpline 1-888-555-0143 now") == [
        "a phone number in customer-support wording"
    ]
    assert "a phone number in customer-support wording" in reasons("Canon printer issues? 1 (800) 555-0100")
    assert reasons("My number is +447700900123 if you want to chat") == ["a phone number"]


@pytest.mark.parametrize(
    "text",
    [
        "The job ran at 1701432000 and took 1234567890 ms",  # timestamps and ids are not phone numbers
        "Version 10.2.3 fixed it; see issue 12345",
        "If you call the Google Maps API twice, the second call is cached",  # brand + "call the": code
        "Apple's support for the new chip landed in 13.1",
    ],
)
def test_readers_numbers_and_brands_are_not_support_lines(text: str) -> None:
    assert not [r for r in reasons(text) if "phone" in r or "brand" in r]


def test_a_brand_with_support_wording_is_named_with_what_was_said() -> None:
    [said] = [r for r in reasons("Contact the Norton customer service for renewals") if "brand" in r]
    assert said == "a brand name with customer-support wording (Norton … customer service)"


def test_generic_praise_is_recognised_by_similarity_to_the_templates() -> None:
    assert blogspam.is_generic("Great post! Thanks for sharing.")
    assert blogspam.is_generic("Very nice and informative post, thank you")
    assert blogspam.is_generic("I will bookmark your site and come back later!")
    assert not blogspam.is_generic("Great post about partial indexes, the EXPLAIN part was new to me.")
    assert not blogspam.is_generic("Thanks for sharing " + "and more words " * 30)


def test_generic_praise_counts_only_with_a_link_a_business_website_or_a_keyword_name() -> None:
    assert reasons("Great post, thanks for sharing!") == []
    assert reasons("Great post, thanks for sharing!", website="https://ada.example") == [
        "generic praise that fits any article, with a website"
    ]
    with_shop = reasons("Great post, thanks for sharing!", website="https://cheap-essays.example")
    assert with_shop[0] == "generic praise that fits any article, with a business website"


@pytest.mark.parametrize(
    ("name", "keyword"),
    [
        ("Best Essay Writing Service", True),
        ("Plumber Near Me", True),
        ("Acme Solutions LLC", True),
        ("Cheap Flights", True),
        ("Ada Lovelace", False),
        ("Jean-Luc", False),
        ("Grace Hopper", False),
    ],
)
def test_keyword_and_business_author_names(name: str, keyword: bool) -> None:
    named = [r for r in reasons("hello there", name=name) if r.startswith("the author name")]
    assert bool(named) is keyword


def test_keyword_anchor_text_in_html_markdown_and_bbcode() -> None:
    for text in (
        'See <a href="https://x.example">cheap essay writing</a>',
        "See [best casino bonus](https://x.example)",
        "See [url=https://x.example]buy followers cheap[/url]",
    ):
        assert any(r.startswith("a link with keyword anchor text") for r in reasons(text)), text
    assert not any("anchor" in r for r in reasons("See [the docs](https://www.postgresql.org/docs/)"))


def test_services_are_named_and_weigh_more_with_a_link() -> None:
    alone = blogspam.judge("Our payday loans online need no credit check", Author(""))
    linked = blogspam.judge("Our payday loans online need no credit check https://l.example", Author(""))
    assert [e.reason for e in alone] == ["mentions loans"]
    assert "advertises loans, with a link" in [e.reason for e in linked]
    assert max(e.weight for e in linked) > max(e.weight for e in alone)


def test_mostly_links_is_named() -> None:
    assert "3 links in 0 words: mostly links" in reasons(
        "https://a.example https://b.example https://c.example"
    )


def test_words_are_counted_as_a_reader_sees_them() -> None:
    # Chinese has no spaces between words, and a link's HTML attributes are not words.
    chinese = (
        "我用云空间做了映射，把 https://a.example 映射到 https://b.example ，上传文件后会得到地址，"
        "把 https://c.example 的域名换一下就行了，这样可以减少流量费用，也方便以后迁移到别的服务。"
    )
    assert not any("mostly links" in r for r in reasons(chinese))
    anchor = '<a href="https://{}.example" rel="nofollow noopener" target="_blank">x</a>'
    html = " ".join(anchor.format(h) for h in "abc")
    assert "3 links in 3 words: mostly links" in reasons(html)


def test_the_maintained_shortener_list_ships_with_its_source_and_licence() -> None:
    listed = links.listed_shorteners()
    assert {"bit.ly", "tinyurl.com", "youtu.be"} <= listed and len(listed) > 1000
    found = links.judge("watch https://youtu.be/abc", "", marked={})
    assert "links through a URL shortener (youtu.be)" in [e.reason for e in found]
    assert max(e.weight for e in found) < 2.0  # a brand's own shortener weighs less than bit.ly


def test_a_comment_sharing_nothing_with_the_article_and_linking_elsewhere_is_off_topic() -> None:
    drop = "Visit our garden furniture warehouse for summer sofas, outdoor tables and parasols at https://x.example"
    assert [e.reason for e in relevance.judge(drop, ARTICLE, linked=True)] == [
        "shares no words with the article's title and description, and links elsewhere"
    ]
    on_topic = "Which index type works best for JSON columns in PostgreSQL, GIN or a plain expression index?"
    assert relevance.judge(on_topic, ARTICLE, linked=True) == []
    assert relevance.judge(drop, ARTICLE, linked=False) == []  # off-topic alone is no evidence
    assert relevance.judge(drop, Page(), linked=True) == []  # a page that says nothing about itself
    assert not relevance.in_other_language(relevance.judge(drop, ARTICLE, linked=True)[0])


def test_a_comment_in_another_language_than_the_article_is_named_beside_a_link() -> None:
    russian = "Отличная статья, спасибо за подробное объяснение и примеры кода"
    assert [e.reason for e in relevance.judge(russian, ARTICLE, linked=True)] == [
        "written in Cyrillic, the article in English"
    ]
    assert relevance.in_other_language(relevance.judge(russian, ARTICLE, linked=True)[0])
    # alone it is a reader writing in their own language, as against the site's language
    assert relevance.judge(russian, ARTICLE, linked=False) == []
    german = "Das ist ein sehr guter Artikel und ich habe mit dem Index auch viel gelernt"
    assert (
        relevance.language(german) == "German"
        and relevance.language(PAGE + " " + PAGE_DESCRIPTION) == "English"
    )
    assert relevance.language("ok") == ""  # too short to tell


@pytest.mark.parametrize(
    "text",
    [
        "This is a really nice article, thanks for sharing it with us.",
        "Your blog is so informative! Keep up the good work.",
        "I enjoyed reading your post and will definitely come back for more.",
        "Wow, what a useful write-up. Bookmarked!",
    ],
)
def test_praise_reworded_is_still_praise_that_fits_any_article(text: str) -> None:
    assert any(
        "praise that fits any article, with a link" in r for r in reasons(f"{text} https://x.example/a")
    )


def test_praise_with_a_promoted_link_weighs_more_than_with_any_link() -> None:
    praise = "Really nice post, thanks for sharing."
    deep = blogspam.judge(f"{praise} https://docs.example.org/guide/indexes.html", Author("", "", ""))
    home = blogspam.judge(f"{praise} https://www.roof-repair.example/", Author("", "", ""))
    anchor = blogspam.judge(f'{praise} <a href="https://x.example/p">roof repair</a>', Author("", "", ""))
    assert max(e.weight for e in home) > max(e.weight for e in deep)
    assert any("home page" in e.reason for e in home)
    assert any("words of its own ('roof repair')" in e.reason for e in anchor)


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ('love this <a href="https://arcade-games.example">arcade games</a>', True),
        ("i love winter https://arcade-games.example", True),
        ("[arcade games](https://arcade-games.example/)", True),
        # Readers link to the page that shows the thing, under its own address or a plain "here".
        ("Here is the issue: https://github.com/example/project/issues/12", False),
        ('Fixed upstream, see <a href="https://github.com/example/project/pull/7">here</a>', False),
        ('<a href="https://up.example.com/images/a1b2.png">https://up.example.com/images/a1...</a>', False),
        ("The pricing page at didforsale.com says so.", False),
        (
            "I tried it with the settings from the article and a fresh database and the index helped "
            "a lot, queries went from seconds to milliseconds on https://example.org",
            False,
        ),
    ],
)
def test_a_link_dropped_with_little_said_is_named(text: str, dropped: bool) -> None:
    assert any("words besides" in r for r in reasons(text)) is dropped, reasons(text)


@pytest.mark.parametrize(
    ("text", "pitch"),
    [
        ("We offer the best plumbing services at affordable prices. Contact us today!", True),
        ("Our experts are available round the clock, book now for a free quote.", True),
        ("Lux Rides offers limousines. Address: 12 Main St, Springfield. Phone: 5550100222", True),
        ("My address: 12 Main St; reach me at the number in my profile.", False),
        ("Our team uses a similar script at work and it saved us hours.", False),
        ("We offer a free tier in our open-source project too, if anyone wants to try it.", False),
        ("The high-quality images in the article take long to load on mobile.", False),
    ],
)
def test_a_business_sales_pitch_is_named(text: str, pitch: bool) -> None:
    assert any("sales pitch" in r or "contact details" in r for r in reasons(text)) is pitch, reasons(text)


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("Download the full version with crack and serial key here", "cracked software"),
        ("Powerful black magic removal by our astrologer, love problem solution", "astrology and spells"),
        ("I recovered my lost bitcoin thanks to a certified hacker", "crypto recovery and trading"),
        ("Best packers and movers for your home shifting", "local services"),
        ("Situs judi slot gacor terpercaya", "gambling"),
        ("Can someone take my online class for me this semester?", "essay writing"),
    ],
)
def test_more_services_spam_sells_are_named(text: str, family: str) -> None:
    assert f"mentions {family}" in reasons(text), reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I crack the password hash from the exercise? hashcat finds nothing.",
        "The license key is free for open-source projects, see their pricing page.",
        "I lost my wallet seed once and could not recover it, so back it up.",
        "My lawyer says the licence allows it.",
    ],
)
def test_readers_words_near_the_services_are_not_services(text: str) -> None:
    assert not any("mentions" in r or "advertises" in r for r in reasons(text)), reasons(text)


def test_a_brand_and_support_wording_anywhere_near_each_other_and_in_other_languages() -> None:
    # Not only the first brand and the first support wording: any mention of each, near each other.
    later = "Norton was fine for years. " + "x " * 40 + "Then the Norton helpline sorted my renewal."
    assert any("(Norton … helpline)" in r for r in reasons(later))
    assert any("(PayPal … bellen)" in r for r in reasons("Ik ben technisch ingenieur bij de PayPal bellen."))
    assert any("phone number in customer-support" in r for r in reasons("Norton support. Phone: 5550100222"))


def test_an_off_topic_comment_promoting_a_site_weighs_more_than_one_linking_elsewhere() -> None:
    story = "Our neighbourhood picnic is on Saturday with games, music and food for every family"
    promoted = relevance.judge(f"{story} https://word-games.example/", ARTICLE, linked=True, promoted=True)
    linked = relevance.judge(f"{story} https://example.org/a/b", ARTICLE, linked=True)
    assert [e.reason for e in promoted] == [
        "shares no words with the article's title and description, and promotes a site"
    ]
    assert promoted[0].weight > linked[0].weight
    assert blogspam.promoted_link(f"{story} https://word-games.example/")


@pytest.mark.parametrize(
    "text",
    [
        "curl -v https://localhost:12444 answers nothing",
        'I open <a href="https://xxx.com">https://xxx.com</a>:12444 and it times out',
        "The server at http://192.168.1.10/ does not answer",
    ],
)
def test_a_server_a_reader_shows_is_no_promoted_home_page(text: str) -> None:
    assert blogspam.promoted_link(text) == ""


def test_a_business_profile_is_graded_by_the_families_of_business_talk() -> None:
    profile = (
        "Brightline Movers is a trusted moving company serving customers across Ontario. We offer packing, "
        "storage and long-distance moves at affordable prices with 20 years of experience. Contact us today."
    )
    short_profile = (
        "Brightline Movers serves customers across Ontario at affordable prices, every day of the week."
    )
    full = [e for e in blogspam.judge(profile, Author("", "", "")) if "advertising itself" in e.reason]
    light = [e for e in blogspam.judge(short_profile, Author("", "", "")) if "advertising itself" in e.reason]
    assert full and light
    assert full[0].weight > light[0].weight
    assert (
        full[0].reason
        == "reads like a business advertising itself (customers, what it offers, claims of quality)"
    )


@pytest.mark.parametrize(
    ("text", "family"),
    [
        (
            "We are proud of our advisors, guides and consultants, who plan every safari for your complete "
            "satisfaction.",
            "its staff",
        ),
        (
            "Hi, I'm Jane Doe. I am a travel blogger with a love of adventure, and I share the best deals on "
            "flights.",
            "a writer introducing themselves by trade",
        ),
        (
            "We, at Lakeside Law, have drafted wills for many families, and we recommend a reliable lawyer "
            "to everyone.",
            "a business introducing itself",
        ),
        (
            "A disability attorney guides clients through every claim, and our firm wins settlements, so "
            "count on us.",
            "a call to contact or buy",
        ),
    ],
)
def test_a_business_speaking_of_its_staff_trade_and_name_is_a_family_of_its_register(
    text: str, family: str
) -> None:
    found = [e.reason for e in blogspam.judge(text, Author("", "", "")) if "advertising itself" in e.reason]
    assert found and family in found[0], found


def test_an_app_package_offered_for_download_is_named_in_any_language() -> None:
    for offer in (
        "تحميل لعبة PUBG Mobile APK للاندرويد أحدث نسخة مجانا",
        "Download Subway Surfers APK latest version for free on your phone",
        "Скачать Minecraft APK бесплатно на андроид",
    ):
        assert reasons(offer) == ["mentions cracked software"], offer
    assert not reasons("I downloaded the APK from the releases page, and the free tier crashes on start.")


@pytest.mark.parametrize(
    "text",
    [
        # Readers speak of their work, their company's customers and a service's price; none of it sells.
        "We provide a hosted version of this at work, and the product team asked me whether the index "
        "costs much on writes. Any numbers?",
        "The price of the managed service went up, so we run our own server now. Your EXPLAIN walkthrough "
        "made the move easy.",
        "As a consultant I see this mistake at most clients: an index on every column and none that the "
        "planner can use.",
        "Great post! We had the same issue at our startup and the customers complained about slow search "
        "until we added a GIN index.",
        "We offer PostgreSQL training at our university and I will point our students to this article. The "
        "part on partial indexes is the clearest I have read.",
        "I call the function in order to apply the patch to the package in our client store service.",
        # … and of their trade, their employer, its staff and its customers
        "At Mozilla we had the same problem, and our consultants told us to drop half of the indexes.",
        "I'm a data consultant at a bank; feel free to connect with me if you want the benchmark scripts.",
        "Here at Acme, we rely on partial indexes for every queue table, and our customers noticed.",
        "Our lawyers asked us to keep the audit table forever, so the index matters a lot to our customers.",
        "As an SEO consultant I can confirm that slow pages hurt; our clients saw it in their sales numbers.",
        "At Shopify we have hundreds of read replicas, and our customers never notice when one falls behind.",
        "I'm a tech blogger too, and I linked this post from my weekly roundup; the readers loved it.",
    ],
)
def test_readers_talk_of_work_and_trade_is_no_advertisement(text: str) -> None:
    weight = sum(
        e.weight for e in blogspam.judge(text, Author("Reader", "", "")) if "advertising" in e.reason
    )
    assert weight <= 1.0, reasons(text, "Reader")
    judged = verdict(text, "Reader", "", PAGE)
    assert judged.action is Action.PUBLISH, judged


@pytest.mark.parametrize(
    ("text", "appended"),
    [
        (
            "Welcome to our meeting at the community hall! There will be snacks and games. https://word-games.example",
            True,
        ),
        (
            "Our picnic is on Saturday by the lake with music, games and food for every family. "
            "<a href=https://word-games.example>https://word-games.example</a>",
            True,
        ),
        # A reader who introduces the link says what it is: it is part of the comment.
        (
            "I wrote up how we applied this on our side, with the numbers before and after: https://jane-dev.example/",
            False,
        ),
        (
            "Thanks for the article. I maintain a small extension for this at https://pgindex-tools.example",
            False,
        ),
        (
            "The planner docs explain the cost model well. https://www.postgresql.org/docs/current/planner-stats.html",
            False,
        ),
    ],
)
def test_a_home_page_put_at_the_end_of_an_unrelated_comment_is_named(text: str, appended: bool) -> None:
    assert any("put at the end of the comment" in r for r in reasons(text)) is appended, reasons(text)


@pytest.mark.parametrize(
    ("text", "unnamed"),
    [
        # a story that never names the site it ends on was written to carry the link
        (
            "Welcome to our meeting at the community hall! There will be snacks and fun. "
            "https://word-games.example",
            True,
        ),
        (
            "Our picnic is on Saturday by the lake with music and food for every family. "
            "https://drift-cars.example/",
            True,
        ),
        # a reader ending on the site they wrote about, or on their own blog, names it
        (
            "We moved our connection handling to PgBouncer and the errors stopped for good. "
            "https://www.pgbouncer.org/",
            False,
        ),
        (
            "I ended up sharding the table with Citus, which worked well for our tenants. "
            "https://www.citusdata.com",
            False,
        ),
        (
            "Nice explanation of the planner. I keep a list of similar tips on my blog. "
            "https://jane-notes.example",
            False,
        ),
    ],
)
def test_a_home_page_at_the_end_that_the_comment_never_names_weighs_more(text: str, unnamed: bool) -> None:
    end = [e for e in blogspam.judge(text, Author("", "", "")) if "put at" in e.reason]
    assert end and (end[0].weight > 1.5) is unnamed, end
    assert ("never names" in end[0].reason) is unnamed
    if not unnamed:
        assert verdict(text, "Reader", "", PAGE).action is not Action.SPAM


def test_the_classifiers_ham_vote_is_discounted_beside_blog_spam_but_never_sends_to_spam_alone() -> None:
    from rejoinder.spam.features import extract
    from rejoinder.spam.judge import _discounted
    from rejoinder.spam.verdict import Evidence

    strong = [Evidence("blog", 2.5, "a link to a site's home page, with 3 words besides")]
    weak = [Evidence("blog", 1.0, "mentions loans")]
    assert blogspam.discounted(-4.0, strong) == -2.0
    assert blogspam.discounted(-4.0, weak) == -4.0  # too little blog-spam evidence to doubt the classifier
    assert blogspam.discounted(1.5, strong) == 1.5  # a spam vote is never changed
    fresh = Model.shipped()
    features = extract("Our family picnic is on Saturday by the lake, with music and games for everyone.")
    base = fresh.log_odds(features)
    assert base < -1.0
    assert _discounted(fresh, features, base, weak, weak, 0.9) == base
    lowered = _discounted(fresh, features, base, strong, strong, 0.9)
    assert base < lowered < 0.0
    # Where the discount alone would pass the spam threshold, a fresh site stops it just under it.
    pitch = [Evidence("blog", 3.0, "a business's sales pitch")]
    capped = _discounted(fresh, features, base, pitch, pitch, 0.9)
    assert base + 3.0 < math.log(9) < blogspam.discounted(base, pitch) + 3.0  # under spam; discounted, over
    assert 0.5 < 1 / (1 + math.exp(-(capped + 3.0))) < 0.9  # … so the discount stops just under it


def test_a_sites_lessons_count_in_full_beside_the_discount() -> None:
    from rejoinder.spam.features import extract
    from rejoinder.spam.judge import _discounted
    from rejoinder.spam.verdict import Evidence

    strong = [Evidence("blog", 2.5, "a link to a site's home page, with 3 words besides")]
    features = extract("Cheap replica watches and luxury handbags at discount prices from our shop today")
    fresh = Model.shipped()
    taught = fresh.with_site({})
    for _ in range(3):
        taught.learn(features, True)
    assert taught.taught and not fresh.taught
    moved = taught.log_odds(features) - fresh.log_odds(features)
    assert moved > 0.5
    before = _discounted(fresh, features, fresh.log_odds(features), strong, strong, 0.999)
    after = _discounted(taught, features, taught.log_odds(features), strong, strong, 0.999)
    assert after - before == pytest.approx(moved)


def test_without_a_page_the_sites_language_is_the_reference() -> None:
    indonesian = "Selamat datang di situs kami yang menyediakan permainan judi online terpercaya dan aman"
    found = relevance.judge(indonesian, Page(), linked=True, site_language="English")
    assert [e.reason for e in found] == ["written in Indonesian, the site in English"]
    # alone, without a link or a sale, a site's language is no reference: readers write in their own
    assert relevance.judge(indonesian, Page(), linked=False, site_language="English") == []
    selling = relevance.judge(indonesian, Page(), linked=False, selling=True, site_language="English")
    assert selling[0].weight > found[0].weight and selling[0].reason.endswith("selling something")
    # the page, when it can be told, is the reference: a German site's English article is not foreign
    english = "Thanks, the partial index on the status column fixed our slow dashboard query."
    assert relevance.judge(english, ARTICLE, linked=False, site_language="German") == []
    assert relevance.judge(indonesian, Page(), linked=False) == []  # no reference at all


def sub_without_page(text: str) -> Submission:
    return Submission(text, Author("Reader", "", ""))


@pytest.mark.parametrize(
    "text",
    [
        # readers writing in their own language on a site that takes several
        "Vielen Dank für den Artikel, ich habe den Index auf die Spalte gelegt und die Abfrage ist schnell.",
        "Merci pour cet article, je ne savais pas que les index partiels étaient aussi utiles.",
        "Terima kasih, saya sudah mencoba indeks ini di database kami dan hasilnya jauh lebih cepat.",
        "Tack för artikeln, jag har testat det med vår databas och det fungerar bra.",
        "Спасибо, очень полезная статья, у нас индекс на этой колонке тоже ускорил запросы.",
        # a reader quoting an error message, in English and as the database printed it in German
        'I get "ERROR: could not create unique index \\"users_email_key\\" DETAIL: Key (email)=(a@b.c) is '
        'duplicated." when I run the migration, any idea?',
        'Bei mir kommt "FEHLER: konnte eindeutigen Index nicht erstellen, Schlüssel ist doppelt vorhanden" '
        "beim Anlegen, was mache ich falsch?",
    ],
)
def test_readers_in_other_languages_and_quoted_errors_are_published(text: str) -> None:
    for page in (ARTICLE, Page()):
        judged = pipeline_judge(Submission(text, Author("Reader", "", ""), page=page), Model.shipped())
        assert judged.action is Action.PUBLISH, (page, judged)


def test_a_short_thanks_in_another_language_is_published_with_or_without_a_page() -> None:
    # the prior is unsure of short German; neither the site's language nor the article's may tip it
    thanks = "Danke, genau das habe ich gesucht."
    judged = pipeline_judge(sub_without_page(thanks), Model.shipped())
    assert judged.action is Action.PUBLISH, judged
    reader = Submission(thanks, Author("Reader", "", ""), page=ARTICLE)
    under_article = pipeline_judge(reader, Model.shipped())
    assert under_article.action is Action.PUBLISH and not under_article.reasons, under_article


def test_a_pitch_in_another_language_is_named_and_kept_from_readers() -> None:
    french = (
        "Nous sommes heureux de vous proposer nos produits avec le meilleur rapport qualité-prix. "
        "N'hésitez pas à nous contacter pour une offre sur mesure."
    )
    assert any(r.startswith("a business's sales pitch") for r in reasons(french))
    assert pipeline_judge(sub_without_page(french), Model.shipped()).action is not Action.PUBLISH
    assert not reasons("Je vous propose une autre solution : un index partiel sur la colonne status.")


def test_the_priors_vote_on_another_language_counts_by_what_it_knows_of_it() -> None:
    from rejoinder.spam.features import extract

    model = Model.shipped()
    english = extract("Thanks for the article, the index fixed our slow query")
    swedish = extract("Bra idé, det här kommer att bli en ny lekplats för barnen i området")
    assert model.prior_coverage(english) > 0.85
    assert model.prior_coverage(swedish) < 0.7
    assert Model.empty().prior_coverage(swedish) == 1.0  # no prior: nothing to scale
    # a page-less comment in Swedish promoting a site, on an English site, scores above the same comment
    # under a Swedish article (where it is neither foreign nor judged by a vote the prior cannot give)
    story = "Bra idé, det här kommer att bli en ny lekplats för barnen, du kan se fler av mina idéer på: "
    judged = pipeline_judge(sub_without_page(story + "https://word-games.example"), model)
    swedish_page = Page("Ny lekplats för barnen", "Vad behövs för att det ska bli säkert för barnen")
    at_home = pipeline_judge(
        Submission(story + "https://word-games.example", Author("", "", ""), page=swedish_page), model
    )
    assert at_home.score < judged.score and not any("written in" in r for r in at_home.reasons)
    # and above the prior's whole vote plus the language evidence: the unknown words' vote was scaled
    whole = model.log_odds(extract(story + "https://word-games.example")) + relevance.OTHER_LANGUAGE_PROMOTED
    assert judged.score > 1.0 / (1.0 + math.exp(-whole))


def test_beside_blog_spam_the_priors_words_argue_innocence_no_further_than_its_base_rate() -> None:
    from rejoinder.spam.features import extract
    from rejoinder.spam.judge import _discounted
    from rejoinder.spam.verdict import Evidence

    fresh = Model.shipped()
    features = extract("I love you so much my friend, thank you for the lovely song, you made my day")
    base = fresh.log_odds(features)
    bias = fresh.prior_bias()
    assert base < bias < 0.0  # the prior is surer of this text than of a text it knows nothing about
    none: list[Evidence] = []
    slight = [Evidence("blog", 0.7, "a phone number")]
    register = [Evidence("blog", 1.0, "reads like a business advertising itself (customers, its staff)")]
    assert _discounted(fresh, features, base, none, none, 0.9) == base  # heard in full without a sign
    assert _discounted(fresh, features, base, slight, slight, 0.9) == base
    assert _discounted(fresh, features, base, register, register, 0.9) == pytest.approx(bias)
    # so a business profile's register (+1.0) ranks above the readers' comments, yet alone it publishes
    assert 1 / (1 + math.exp(-(bias + 1.0))) < 0.5


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a market research firm's summary, in its trade's words
        (
            "The smart lighting market size is expected to reach USD 46 billion by 2030, growing at a CAGR "
            "of 20.1% over the forecast period.",
            "mentions market research reports",
        ),
        # a profile's one line
        ("I am a travel blogger.", "a one-line profile"),
        ("Hi, I'm an SEO consultant based in Leeds.", "a one-line profile"),
        # a story that ends on a link under words it never speaks of
        (
            "When your website goes live for the first time, it is exciting. That is until nobody comes.\t"
            "<a href=https://tools.example/keyword-planner-review/>Keyword Planner</a>",
            "a link under words the comment never speaks of",
        ),
        # a supplier's profile in Indonesian: a company, claims of quality, prices, customers, a call
        (
            "Kami adalah perusahaan distributor besi baja terbaik dan berkualitas dengan harga murah untuk "
            "pelanggan di seluruh Indonesia, hubungi kami sekarang.",
            "reads like a business advertising itself",
        ),
    ],
)
def test_reports_one_line_profiles_unspoken_end_links_and_profiles_in_indonesian_are_named(
    text: str, kind: str
) -> None:
    assert any(r.startswith(kind) for r in reasons(text)), reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        "Postgres has a growing share of the database market, and the article explains part of why.",
        "Our market data team runs this query every night; the partial index cut it from 40 to 3 minutes.",
        "I am a developer too, and the part on partial indexes saved my week.",
        "As a freelancer I see this mistake at most clients.",
        "I'm a data engineer at a bank, and we hit the same planner bug last spring.",
        # a link at the end under words the comment speaks of
        "The planner ignores the index when the statistics are stale, so run ANALYZE after a bulk load. "
        "<a href=https://www.postgresql.org/docs/current/planner-stats.html>Planner statistics</a>",
        "Thanks, this fixed our nightly import job too; the remaining bug is in pgvector itself. "
        "<a href=https://github.com/pgvector/pgvector/issues/12>pgvector issue 12</a>",
        "Merci, le prix du serveur géré a augmenté, donc nous utilisons notre propre serveur maintenant.",
        "Terima kasih, harga server kami naik, jadi kami memakai indeks ini untuk menghemat.",
    ],
)
def test_readers_shapes_beside_reports_profiles_and_end_links_are_published(text: str) -> None:
    found = [r for r in reasons(text, "Reader") if not r.startswith("a phone number")]
    assert not any(
        r.startswith(("mentions market", "a one-line profile", "a link under words", "reads like a business"))
        for r in found
    ), found
    for page in (ARTICLE, Page()):
        judged = pipeline_judge(Submission(text, Author("Reader", "", ""), page=page), Model.shipped())
        assert judged.action is Action.PUBLISH, (page, judged)


@pytest.mark.parametrize(
    ("text", "family"),
    [
        (
            "Harbor Dynamics has driven growth for small firms since the nineties, back when the product was "
            "sold on floppy disks, and it still keeps their books, stock and payroll in one place for every "
            "branch.",
            "a company",
        ),
        (
            "A reclining sectional lets the whole family enjoy one piece of furniture in many ways, and the "
            "showroom carries models from the most trusted makers in the country, with leather and fabric "
            "in every colour.",
            "claims of quality",
        ),
    ],
)
def test_a_profile_in_a_brochures_voice_reads_like_a_business_with_one_family_besides(
    text: str, family: str
) -> None:
    found = [e for e in blogspam.judge(text, Author("", "", "")) if "advertising itself" in e.reason]
    assert len(found) == 1 and found[0].weight == 1.0, found
    assert family in found[0].reason and "a brochure's voice, not a reader's" in found[0].reason


@pytest.mark.parametrize(
    "text",
    [
        # A long technical answer in no one's voice, with no business talk besides: nothing.
        "The license does not require a specific format for attribution, but it does require a link to the "
        "original source and the name of the creator, which most plugins already print under the image.",
        # The same business words in a reader's own voice: one family, nothing.
        "At my previous job the firm ran every report off a read replica, and I never saw the lag you "
        "describe until the vacuum settings changed on the primary during the nightly batch.",
        "Harbor Dynamics has driven growth for small firms since the nineties, and I still keep the books "
        "of our club in it, so the export to CSV you describe saved me an evening of copying.",
        # A question is a reader's too.
        "Would the same index help when the firm runs every report off a read replica, or does the "
        "planner on the replica ignore the statistics gathered on the primary during the nightly batch?",
        # Short texts have no voice to judge, and other languages are judged by their own signals.
        "Harbor Dynamics keeps the books of small firms in one place.",
        "Die Firma betreibt jeden Bericht auf einer Replik, und die Verzögerung, die du beschreibst, "
        "habe ich nie gesehen, bis sich die Einstellungen auf dem Primärserver geändert haben.",
    ],
)
def test_readers_paragraphs_and_short_or_foreign_texts_have_no_brochures_voice(text: str) -> None:
    assert not [r for r in reasons(text) if "advertising itself" in r], reasons(text)
    assert verdict(text, "Reader", "", PAGE).action is Action.PUBLISH


def test_a_products_headline_and_a_supplier_are_families_of_the_register() -> None:
    headline = "Buy Photo Moon Lamp Online from the trusted maker of personalised lamps, and light any room."
    assert "a call to contact or buy" in " ".join(reasons(headline))
    supplier = "A trusted supplier of spare parts for tractors and harvesters, shipping to every farm."
    assert "a company" in " ".join(reasons(supplier))


def test_a_brochures_voice_completes_a_register_of_one_family_and_never_strengthens_one() -> None:
    # Readers discussing a market in no one's voice touch two families already; the voice adds nothing.
    market = (
        "Cloud vendors change their terms every year and the market has no alternative for managed databases "
        "of this size, so running them on bare metal pays for itself within months."
    )
    found = [e for e in blogspam.judge(market, Author("", "", "")) if "advertising itself" in e.reason]
    assert [e.weight for e in found] == [1.0] and blogspam.BROCHURE not in found[0].reason, found
    assert verdict(market, "Reader", "", PAGE).action is Action.PUBLISH
    # An @mention answers someone: a reader's reply, not a brochure.
    reply = (
        "@dana the vendors in that industry sell the same boards under different names, and the firmware "
        "on all of them comes from one factory, so the fix for one model works on the others as well."
    )
    assert not [r for r in reasons(reply) if "advertising itself" in r], reasons(reply)


@pytest.mark.parametrize(
    "text",
    [
        # A product page: its headline, then a body in no one's voice.
        "Handmade Walnut Desk Organisers for Small Offices\nEach organiser is cut from one block of walnut, "
        "oiled by hand and shipped in a recycled box, so the desk stays tidy for years.",
        # A proposal or an article pasted for its link: a headline asking a question, then its body.
        "Ready to Explore the Quiet Islands of the North? <p>A week on a sailing boat between the islands "
        "brings calm bays, fresh fish and long evenings on deck for the whole family, while the crew cooks "
        "and the children swim off the stern.</p>",
    ],
)
def test_a_headline_over_a_brochures_body_reads_like_a_business(text: str) -> None:
    found = [e for e in blogspam.judge(text, Author("", "", "")) if "advertising itself" in e.reason]
    assert len(found) == 1 and found[0].weight == 1.0, found
    assert blogspam.HEADLINE in found[0].reason and blogspam.BROCHURE in found[0].reason


def test_a_headline_joins_the_other_families_of_the_register() -> None:
    text = (
        "Buy Walnut Desk Organisers Online with woodcraft. Trusted by offices across the country for years."
    )
    assert "a headline, as an advertisement opens" in " ".join(reasons(text)), reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        # A reader's own heading over their own words: one family, nothing.
        "Partial Indexes in PostgreSQL: I tried the recipe on our staging box and the planner picked the "
        "index at once, though I had to analyse the table first.",
        # A sentence that opens on a product's name is no headline.
        "Microsoft SQL Server Management Studio shows the same plan when the statistics are stale, so run "
        "an update first and compare the two.",
        # Shouting in capitals, and a Title-Case line with nothing under it.
        "THIS IS THE BEST FIX EVER\nthe index cut our nightly report from an hour to four minutes, thanks.",
        "Partial Indexes Explained Well",
    ],
)
def test_readers_headings_sentences_and_shouts_are_no_advertisements_headline(text: str) -> None:
    assert not [r for r in reasons(text) if "headline" in r or "advertising itself" in r], reasons(text)
    assert verdict(text, "Reader", "", PAGE).action is Action.PUBLISH


def test_a_products_name_alone_is_a_shops_profile() -> None:
    for text in ("8 Ball Leather Jackets", "Harbor Walnut Furniture", "Kettle and Crumb Bakery"):
        found = [e for e in blogspam.judge(text, Author("", "", "")) if "name and nothing else" in e.reason]
        assert [e.weight for e in found] == [1.0], (text, found)
    # A link beside the name makes it no less a shop's: the finding stays.
    beside = blogspam.judge("Harbor Walnut Furniture https://harbor.example/desks", Author("", "", ""))
    assert [e.weight for e in beside if "name and a link" in e.reason] == [1.0], beside


@pytest.mark.parametrize(
    "text",
    [
        "Best World Cup Song",  # a cheer
        "Happy New Year",  # a greeting
        "Thanks Dana",
        "Same here on Debian",  # a note, not a name in Title Case
        "WHITE FUDGE OREOS",  # a shout
        "Partial indexes",  # a reader's note in sentence case
        "Harbor Walnut Furniture makes the desk in the photo.",  # a name that says something
    ],
)
def test_readers_cheers_greetings_and_short_notes_are_no_shops_name(text: str) -> None:
    assert not [r for r in reasons(text) if "name and nothing else" in r], reasons(text)
    assert verdict(text, "Reader", "", PAGE).action is Action.PUBLISH
