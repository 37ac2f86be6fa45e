"""Blog-spam patterns typed for Rejoinder's tests, in the project's own words (none copied from a real
comment), and ordinary readers' comments beside them. Each is (text, author name, website, page title).
The kinds: fake support lines, generic praise with a link or a business website, keyword author names,
keyword anchor text, link drops, services (essays, casinos, loans, pills, streaming, ranking), off-topic."""

from __future__ import annotations

PAGE = "How to speed up slow PostgreSQL queries with indexes"
PAGE_DESCRIPTION = "A practical guide to reading EXPLAIN output and choosing the right index in PostgreSQL."

BLOG_SPAM: list[tuple[str, str, str, str]] = [
    (
        "Is your printer offline? Call the HP printer support number +1-888-555-0143 for instant help 24/7.",
        "Printer Help",
        "",
        PAGE,
    ),
    (
        "Facing trouble with your QuickBooks account? Our QuickBooks customer service team is available "
        "round the clock at 1 (800) 555-0199, toll free.",
        "Sam",
        "",
        PAGE,
    ),
    (
        "For flight changes call the Delta airlines reservations number 1.877.555.0123 "
        "and talk to a live agent.",
        "Travel Desk",
        "",
        PAGE,
    ),
    (
        "Great post, thanks for sharing!",
        "Best Essay Writing Service",
        "https://cheap-essays-online.example",
        PAGE,
    ),
    ("Very informative article, thank you.", "Anna", "https://buy-followers-cheap.example", PAGE),
    (
        "Nice post thank you for sharing this. Check my site https://top-casino-bonus.example",
        "Mike",
        "",
        PAGE,
    ),
    (
        "I found your blog while searching on google, keep up the good work!",
        "SEO Agency Delhi",
        "https://seo-services.example",
        PAGE,
    ),
    (
        'Thanks for the article. We offer <a href="https://loans.example">payday loans online</a> '
        "with no credit check.",
        "John",
        "",
        PAGE,
    ),
    (
        "Looking for help? [cheap essay writing service](https://essays.example) "
        "for students, fast delivery.",
        "Writer",
        "",
        PAGE,
    ),
    ("https://pills.example https://pills.example/buy https://pills.example/cheap", "Pharma", "", PAGE),
    (
        "Watch the latest movies free online in HD on our streaming site, no sign up needed!",
        "Movie Fan",
        "https://free-movies.example",
        PAGE,
    ),
    (
        "Buy cheap replica watches and designer handbags at the lowest prices, worldwide shipping.",
        "Luxury Store",
        "https://replica-store.example",
        PAGE,
    ),
    (
        "Need more reach? Buy real followers and likes for Instagram today, instant delivery guaranteed.",
        "Growth",
        "https://bit.ly/grow-now",
        PAGE,
    ),
    (
        "Our digital marketing agency offers SEO services and quality backlinks to rank your website on top.",
        "Rank Top Solutions LLC",
        "https://rank-top.example",
        PAGE,
    ),
    (
        "Lost access to your crypto wallet? Contact the Coinbase support helpline at 1-844-555-0177 now.",
        "Wallet Recovery",
        "",
        PAGE,
    ),
    (
        "Hot singles in your area are waiting, join the best adult dating site for free tonight.",
        "Dating Club",
        "https://dating.example",
        PAGE,
    ),
    (
        "Get the biggest casino bonus with free spins every day, register now and win the jackpot.",
        "Lucky",
        "https://win-big.example",
        PAGE,
    ),
    (
        "Awesome post very helpful for beginners.",
        "Cheap Flights Booking",
        "https://flights-deals.example",
        PAGE,
    ),
]

READERS: list[tuple[str, str, str, str]] = [
    ("Great post, thanks!", "Ada", "", PAGE),
    ("Thanks, this tutorial was really helpful!", "Linus", "", PAGE),
    (
        "The partial index trick cut our dashboard query from 4 s to 80 ms. Thank you!",
        "Grace",
        "https://grace.example",
        PAGE,
    ),
    (
        "Could you explain why the planner ignores my index when I use LIKE with a leading wildcard?",
        "Ken",
        "",
        PAGE,
    ),
    ("I had the same problem with my router last week and your fix worked.", "Barbara", "", PAGE),
    (
        "Nice write-up. For anyone curious, the official docs on EXPLAIN ANALYZE are at "
        "https://www.postgresql.org/docs/current/using-explain.html",
        "Edsger",
        "",
        PAGE,
    ),
    ("I disagree with point 2: a covering index is not always worth the extra writes.", "Tony", "", PAGE),
    ("Merci pour l'article, très clair. Est-ce que ça marche aussi avec MySQL ?", "Jean", "", PAGE),
    (
        "My company's support team hit this last year; we fixed it by adding an index on the foreign key.",
        "Margaret",
        "https://margaret.example",
        PAGE,
    ),
    ("Keep up the good work!", "Dennis", "", PAGE),
    ("Which version of PostgreSQL did you use for the benchmarks?", "Niklaus", "", PAGE),
    ("Bookmarked. I will share this with my team at work tomorrow.", "Frances", "", PAGE),
]
