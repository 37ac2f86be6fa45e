"""Blog-spam signals: the shapes of the spam blogs get, each with its own reason in plain words.

Fake support lines (a phone number in customer-service wording, a brand with "support" or "helpline"),
generic praise that fits any article carrying a link or a business website, author names that are
keywords or companies, links with keyword anchor text, promoted links (a site's home page, or a link
under words of its own) with little said besides, comments that are mostly links, a business's sales
pitch and contact details, and the services spam sells (essays, casinos, loans, pills, streaming,
search-engine ranking, cracked software…) next to a link.

Pure: the text, the author's name and website go in, evidence comes out. The lists are small, typed
here, and shipped as data where they are long (``data/generic-comments.txt``, ``data/url-shorteners.txt``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from rejoinder.spam import relevance
from rejoinder.spam.function_words import FUNCTION_WORDS
from rejoinder.spam.links import domain_of, link_count, links_in, without_links
from rejoinder.spam.submission import Sender
from rejoinder.spam.verdict import Evidence

# Written as a phone number: +1-888-555-0143, 1 (800) 123 4567, 1.877.555.0199, +18885550143 or a
# toll-free 18885550143; not a bare run of digits (a timestamp, an id), which a reader may well paste.
_PHONE = re.compile(
    r"(?<![\w.])(?:(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}|\+\d{10,13}|1?8[0-8]{2}\d{7})(?!\w)"
)
# A bare run of ten or more digits is a phone number when it is labelled as one ("Phone: 9054557300").
_LABELLED_PHONE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call(?:\s+us)?|contact|mobile|whats\s*app|cell)(?:\s+(?:no|number|details))?"
    r"\s*[:.#-]+\s*\+?\(?\d[\d\s().-]{8,16}\d"
)
# A postal address or opening hours given as a business gives them ("Address: 480 Main St").
_CONTACT_LABEL = re.compile(r"(?i)\b(?:address|hours|e-?mail|location)\s*[:-]\s*\S")
_SUPPORT = re.compile(
    r"(?i)\b(?:customer\s+(?:service|support|care)|tech(?:nical)?\s+support|help\s*(?:line|desk)|"
    r"hotline|toll[\s-]?free|support\s+(?:number|phone|team|line)|contact\s+number|phone\s+number|"
    r"24\s*[/x]\s*7|call\s+(?:us|now)|helpdesk|care\s+number|reservations?\s+number|"
    r"booking\s+number|refund|support\s+(?:executive|experts?|services?)|technical\s+team|"
    r"(?:e-?mail|printer|router|antivirus|accounting)\s+experts?|third[\s-]party\s+service\s+provider|"
    # The same wording in the other languages fake support lines are written in.
    r"bellen|klantenservice|service\s+client|num[ée]ro\s+de\s+t[ée]l[ée]phone|kundendienst|kundenservice|"
    r"servicio\s+al\s+cliente|atenci[óo]n\s+al\s+cliente|n[úu]mero\s+de\s+tel[ée]fono|assistenza\s+clienti)"
)
# Brands whose support lines spammers fake most: devices, software, mail, money, travel. Names only;
# a reader who mentions one without support wording is not judged by this list.
_BRANDS = re.compile(
    r"(?i)\b(?:hp|canon|epson|brother|dell|lenovo|asus|acer|apple|icloud|itunes|microsoft|windows|outlook|"
    r"hotmail|office\s*365|gmail|google|yahoo|aol|comcast|xfinity|verizon|at\s*&\s*t|att|spectrum|roadrunner|"
    r"norton|mcafee|avast|avg|kaspersky|bitdefender|webroot|quickbooks|quicken|sage|turbotax|paypal|venmo|"
    r"cash\s*app|coinbase|binance|metamask|trust\s*wallet|blockchain|kraken|robinhood|amazon|prime|alexa|"
    r"facebook|instagram|whatsapp|netflix|hulu|roku|garmin|tomtom|netgear|linksys|arlo|ring|nest|"
    r"delta|united\s+airlines|american\s+airlines|southwest|jetblue|spirit\s+airlines|frontier|alaska\s+airlines|"
    r"lufthansa|emirates|qatar\s+airways|british\s+airways|air\s+canada|expedia|booking\.com|airbnb|"
    r"uber|lyft|fedex|ups|usps|dhl)\b"
)
# What blog spam sells, by family, with the words that name it.
_SERVICES: dict[str, re.Pattern[str]] = {
    "essay writing": re.compile(
        r"(?i)\b(?:essays?|dissertations?|term\s+papers?|homework|assignments?|thesis|coursework)\s+"
        r"(?:writ\w*|help\w*|service\w*|online|cheap|assistance|experts?)|"
        r"\b(?:write|do|take)\s+my\s+(?:essay|paper|assignment|homework|(?:online\s+)?(?:class|exam|course))|"
        r"\bacademic\s+writ(?:er|ing)\b"
    ),
    "gambling": re.compile(
        r"(?i)\b(?:casinos?|slots?\s+(?:online|games?|machines?)|jackpots?|betting|"
        r"sportsbook|poker\s+online|bonus\s+spins|free\s+spins|"
        # gambling's words in the languages its spam is most often written in
        r"judi|togel|slot\s+gacor|situs\s+slot|taruhan|apuestas|kasino|casin[òó])\b"
        r"|แทงบอล|บาคาร่า|สล็อต|คาสิโน|เดิมพัน|赌场|博彩|娱乐城|카지노|토토"
    ),
    "loans": re.compile(
        r"(?i)\b(?:payday\s+loans?|cash\s+advance|loans?\s+(?:online|fast|today|with\s+no)|"
        r"no\s+credit\s+check|bad\s+credit\s+loans?|instant\s+loans?)\b"
    ),
    "pills": re.compile(
        r"(?i)\b(?:viagra|cialis|levitra|tramadol|xanax|oxycodone|phentermine|pharmacy|"
        r"pills?\s+online|buy\s+\w+\s+pills|generic\s+(?:viagra|cialis)|keto\s+pills|diet\s+pills|"
        r"erectile\s+dysfunction|without\s+(?:a\s+)?prescription|pharmaceutical\s+(?:distributor|wholesaler|exporter))\b"
    ),
    "streaming": re.compile(
        r"(?i)\b(?:watch|stream(?:ing)?|download)\s+(?:the\s+)?(?:latest\s+)?(?:\w+\s+)?"
        r"(?:movies?|films?|series|episodes?)\s+(?:free|online|hd)|\bfree\s+movies\b|"
        r"\b(?:putlocker|123movies|fmovies|soap2day|gomovies|iptv\s+(?:subscription|service))\b"
    ),
    "search-engine ranking": re.compile(
        r"(?i)\b(?:seo\s+(?:services?|agency|company|expert|packages?)|backlinks?|"
        r"guest\s+posts?\s+(?:service|sites?)|rank\s+(?:your\s+)?(?:site|website)|"
        r"digital\s+marketing\s+(?:agency|company|services?))\b"
    ),
    "replicas": re.compile(
        r"(?i)\b(?:replica|knock-?off|fake)\s+(?:watch\w*|bags?|handbags?|shoes|rolex|"
        r"designer)"
    ),
    "followers": re.compile(
        r"(?i)\bbuy\s+(?:cheap\s+)?(?:real\s+)?(?:followers|likes|views|subscribers|reviews)\b"
    ),
    "escorts": re.compile(r"(?i)\b(?:escorts?|call\s+girls?|hookups?|adult\s+dating)\b"),
    "cracked software": re.compile(
        r"(?i)\b(?:crack(?:ed)?|keygen)\b.{0,60}\b(?:download|full\s+version|serial|license\s+key|"
        r"registration\s+key|activation\s+key|product\s+key|keygen)\b|\b(?:download|serial|license\s+key|"
        r"registration\s+key|activation\s+key)\b.{0,60}\b(?:crack(?:ed)?|keygen)\b|\bmod\s+apk\b|"
        r"\bapk\s+(?:download|mod)\b|\bfull\s+version\s+free\s+download\b|"
        # an app's package offered for download, free or "latest version", in the languages such pages use
        r"\b(?:download|unduh|descargar|baixar|t[ée]l[ée]charger|скачать|تحميل|تنزيل)\b[^.!?\n]{0,60}\bapk\b"
        r"[^.!?\n]{0,60}(?:\bfree\b|\blatest\s+version\b|\bgratis\b|\bterbaru\b|бесплатно|مجان|أحدث)"
    ),
    "astrology and spells": re.compile(
        r"(?i)\b(?:black\s+magic|vashikaran|astrologer|love\s+(?:problem|marriage)\s+(?:solution|specialist)|"
        r"spell\s+caster|love\s+spells?|get\s+(?:your\s+)?(?:ex|love)\s+back)\b"
    ),
    "crypto recovery and trading": re.compile(
        r"(?i)\brecover\w*\s+(?:\w+\s+){0,2}(?:bitcoin|crypto\w*|btc|funds)|"
        r"\b(?:certified|ethical|legit)\s+hackers?\b|"
        r"\b(?:bitcoin|crypto|forex|binary)\s+(?:trading\s+)?(?:signals|expert|mining\s+platform|account\s+manager)\b|"
        r"\bnft\s+marketplace\b"
    ),
    "local services": re.compile(
        r"(?i)\b(?:packers\s+and\s+movers|junk\s+(?:car|removal)|scrap\s+car|cash\s+for\s+(?:cars|junk)|"
        r"pest\s+control|carpet\s+cleaning|water\s+damage\s+restoration|limo(?:usine)?\s+(?:rental|service))\b|"
        r"\b(?:lawyers?|attorneys?|dentists?|plumbers?|locksmiths?|roofers?|movers|contractors?|clinics?)\s+near\s+me\b"
    ),
    # Market research firms post their reports' summaries: the trade's own words, which a reader's comment
    # on a market does not need ("the market is expected to grow" alone is not enough: a CAGR or a size is).
    "market research reports": re.compile(
        r"(?i)\bcagr\b|\bforecast\s+period\b|\bmarket\s+(?:size|research\s+reports?)\b"
    ),
}
# Praise that fits any page: the page itself praised ("nice post", "your blog is informative"), thanks for
# "sharing", a promise to come back, "keep up the good work". One such phrase is what readers write too;
# praise made of two or more of them and little else is the SEO commenter's template, however reworded.
_PAGE = (
    r"(?:post|posts|article|articles|blog|blogs|site|website|web\s*site|weblog|info|information|content|"
    r"write-?up|stuff|topic|topics|work|job|share)"
)
_PRAISE_WORD = (
    r"(?:great|nice|good|awesome|amazing|excellent|wonderful|fantastic|informative|useful|helpful|interesting|"
    r"valuable|superb|brilliant|impressive|fabulous|outstanding|beautiful|lovely|perfect|cool|best|quality)"
)
_PRAISE = (
    re.compile(rf"(?i)\b{_PRAISE_WORD}\s+(?:\w+\s+){{0,2}}{_PAGE}\b"),
    re.compile(rf"(?i)\b(?:this|your|the)\s+{_PAGE}\s+(?:\w+\s+){{0,3}}{_PRAISE_WORD}\b"),
    re.compile(rf"(?i)\bthanks?(?:\s+you)?\s+(?:so\s+much\s+|a\s+lot\s+)?for\s+(?:sharing|posting|the\s+{_PAGE}|this\s+{_PAGE}|such)"),
    re.compile(r"(?i)\bkeep\s+(?:it\s+up|up\s+the\s+(?:good|great)|(?:on\s+)?(?:posting|sharing|writing|blogging|updating|putting))"),
    re.compile(
        r"(?i)\b(?:will|i'?ll|i\s+am|i'm)\s+(?:\w+\s+){0,2}(?:come\s*back|coming\s+back|return|be\s+back|"
        r"bookmark\w*|visit\s+again|check\s+back)|\bbookmarked\b"
    ),
    re.compile(
        rf"(?i)\b(?:enjoy(?:ed)?|love[ds]?|loving|like[ds]?|appreciate[ds]?|admire[ds]?)\s+(?:reading|"
        rf"(?:\w+\s+){{0,2}}(?:your|this|the)\s+(?:\w+\s+)?{_PAGE}|it)\b"
    ),
    re.compile(rf"(?i)\b(?:read|found|visited|came\s+across)\s+(?:\w+\s+)?(?:your|this)\s+{_PAGE}"),
    re.compile(r"(?i)\b(?:thumbs\s+up|well\s+written|very\s+informative|so\s+informative|good\s+luck|best\s+of\s+luck)\b"),
)
PRAISE_MAX_WORDS = 80  # a longer comment says something of its own
# A business speaking of itself: what it offers, its prices, how to reach it. Two of these in one comment
# are a sales pitch; readers mention their company ("our team uses …") without selling it.
_PITCH = re.compile(
    r"(?i)\b(?:we\s+(?:offer|provide|deliver|specialize|specialise|are\s+(?:a|an|the|one\s+of\s+the)\s+"
    r"(?:leading|best|top|trusted|reliable|professional|independent|global|largest))|"
    r"our\s+(?:services|products|clients|customers|experts|professionals|firm|company|agency|store|shop|"
    r"prices|rates|packages|range|team\s+of|professional|experienced|certified|collection)|"
    r"contact\s+us|call\s+us|get\s+in\s+touch|book\s+(?:now|today|this\s+service|our)|hire\s+(?:the\s+best|us|our)|"
    r"visit\s+our\s+(?:site|website|store|shop|office)|"
    r"(?:affordable|reasonable|competitive|lowest|best|cheap)\s+(?:prices?|rates?|costs?|packages)|"
    r"free\s+(?:shipping|delivery|quote|consultation|estimate)|customer\s+satisfaction|round\s+the\s+clock|"
    r"one[\s-]stop|(?:top|high|premium)[\s-]quality|wide\s+(?:range|variety)\s+of|"
    r"(?:what|so\s+what)\s+are\s+you\s+waiting\s+for|don'?t\s+hesitate\s+to\s+contact|"
    # a business describing itself: "X is one of the leading …", "offers a wide range of … services"
    r"(?:is|are)\s+(?:a|an|one\s+of\s+the)\s+(?:leading|best|top|largest|biggest|trusted|reputed|premier|renowned)|"
    r"(?:provides?|offers?|offering)\s+(?:\w+\s+){0,3}(?:services|solutions|products)|"
    # The same pitch in the other languages the support lines are written in.
    r"contactez[\s-]nous|n['’]h[ée]sitez\s+pas\s+[àa]\s+nous\s+contacter|nous\s+(?:proposons|offrons)|"
    r"(?:vous|de\s+vous)\s+proposer|rapport\s+qualit[ée][\s-]prix|meilleurs?\s+prix|"
    r"kontaktieren\s+sie\s+uns|wir\s+bieten|g[üu]nstige[nr]?\s+preise?|"
    r"cont[áa]ctenos|ofrecemos|mejores?\s+precios?|"
    r"neem\s+(?:vandaag\s+)?contact\s+(?:met\s+ons\s+)?op|wij\s+bieden|"
    r"contattaci|offriamo|prezzi\s+(?:bassi|convenienti))"
)
# A business describing itself, whatever its template: the register of an advertisement or a company
# profile (who it is, what it offers, to whom, at what price, how to reach it), each family counted once.
# The words are the ones a profile uses and a programmer's comment does not: no "service", "package",
# "client", "store", "platform", "cost", "call", "order" or "apply", which name code as often as trade.
_REGISTER: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rf"(?i)\b(?:{words})\b"))
    for name, words in (
        (
            "a company",
            r"agenc(?:y|ies)|firms?|enterprises?|brands?|industr(?:y|ies)|manufacturers?|"
            r"distributors?|wholesalers?|suppliers?|vendors?|retailers?|exporters?|shops?|organi[sz]ations?|"
            # and in the languages such profiles are most often written in besides English
            r"perusahaan|empresas?|entreprises?|unternehmen",
        ),
        (
            "customers",
            r"customers|consumers|buyers|patients|clientele|pelanggan|konsumen|clientes|kunden|klanten",
        ),
        (
            "what it offers",
            r"we\s+(?:offer|provide|deliver|sell|specialize|specialise)|"
            r"(?:offers|provides|delivers|sells|specializes|specialises)\s+(?:\w+\s+){0,3}(?:services|products|"
            r"solutions|range|variety|courses|training)",
        ),
        (
            "claims of quality",
            r"leading|reputed|renowned|trusted|reliable|professionals?|experts?|expertise|"
            r"experienced|high-quality|top-quality|premium|world-class|exceptional|guarantee[ds]?|satisfaction|"
            r"hassle-free|cost-effective|largest|biggest|award-winning|ranked|one-stop|state-of-the-art|"
            r"excellence|"
            r"terbaik|berkualitas|terpercaya|berpengalaman|calidad|garantizad[oa]s?|qualit[ée]|"
            r"hochwertige?[nrs]?|zuverl[äa]ssige?[nrs]?",
        ),
        (
            "prices",
            r"prices?|pricing|discount(?:s|ed)?|affordable|cheap|cheapest|savings|"
            r"free\s+(?:shipping|delivery|quote|demo|consultation)|doorstep|"
            r"harga|murah|diskon|precios?|baratos?|descuentos?|prix|tarifs?|preise?|g[üu]nstige?[nrs]?|rabatt",
        ),
        (
            "a call to contact or buy",
            r"contact\s+(?:us|me|now|today)|call\s+(?:us|now|today)|"
            r"visit\s+(?:us|our|my\s+(?:site|website|page))|book\s+(?:now|today|your|a\s+free)|"
            r"hire\s+(?:us|our|the\s+best)|buy\s+(?:now|online|from\s+us)|order\s+(?:now|online|today)|"
            r"apply\s+now|get\s+in\s+touch|feel\s+free\s+to\s+(?:contact|reach)|"
            r"(?:count|rely)\s+on\s+us|read\s+my\s+(?:site|website)|"
            # a product's headline, an admissions notice ("Buy Photo Moon Lamp Online", "get yours now")
            r"buy\s+(?:[\w-]+\s+){1,4}online|get\s+(?:a|an|your|yours)\s+(?:[\w-]+\s+){0,4}(?:today|now)|"
            r"admissions?\s+(?:are\s+)?open|enrol+\s+(?:now|today)|shop\s+now|sign\s+up\s+(?:now|today)|"
            r"you\s+can\s+(?:contact|reach|call|hire|book|order)\s+(?:us|me|our)|"
            r"hubungi\s+kami|kunjungi\s+(?:kami|website|situs)|cont[áa]ctenos|contactez[\s-]nous|"
            r"kontaktieren\s+sie\s+uns",
        ),
        (
            "its staff",
            r"our\s+(?:[\w-]+\s+){0,2}(?:advisors?|advisers?|consultants?|artisans?|doctors?|physicians?|"
            r"dentists?|lawyers?|attorneys?|specialists?|technicians?|tutors?|therapists?|craftsmen)",
        ),
        (
            "years in business",
            r"years?\s+of\s+experience|in\s+business\s+since|established\s+in|founded\s+in",
        ),
        ("markets and sales", r"market(?:s|ing)?|revenue|roi|sales"),
    )
) + (
    # A profile opens with the business's name and what kind of business it is ("Kamsoft is a … company"),
    # or with its writer's full name ("Hi, I am Jane Doe"): readers' names are in the author field.
    (
        "a business introducing itself",
        re.compile(
            r"^\W*[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*){0,3},?\s+(?:is|are)\s+(?:a|an|the|one\s+of)\b"
            r"[^.!?]{0,60}?\b(?:compan(?:y|ies)|agency|firm|platform|website|provider|store|shop|brand|"
            r"manufacturer|distributor|marketplace|school|college|institute|clinic|consultancy|studio)\b|"
            # or speaks as "we" under its name, as a press release does: "We, at VRS Law, …"
            r"\b[Ww]e,\s+at\s+[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*){0,3},"
        ),
    ),
    (
        "a writer introducing themselves by trade",
        re.compile(
            r"\b(?:I\s+am|I['’]m|[Aa]s)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}(?:blogger|writer|advisor|adviser|"
            r"consultant|expert|marketer|executive|specialist|freelancer|strategist|coach|tutor)\b"
        ),
    ),
    (
        "a writer introducing themselves by full name",
        re.compile(
            r"\b(?:[Mm]y\s+name\s+is|I\s+am|I['’]m|[Tt]his\s+is|[Mm]yself)\s+[A-Z][a-z]+\s+[A-Z][a-z]+\b"
        ),
    ),
)
REGISTER_MIN_WORDS = 12  # a shorter text says too little to have a register
# A brochure's voice: a text of some length in English in which its writer never speaks for themselves
# (no "I", "me", "my"), asks nothing, thanks no one and answers no one by name (an @mention). A reader's
# reply, however technical, nearly always does one of these once it runs to a paragraph; a company profile,
# a product page or an encyclopaedia entry pasted for its link does none. It completes a register of one
# family to two, never on its own and never beyond: readers discussing a market in no one's voice (vendors,
# prices, sales) already touch two families, and a third would hold them.
BROCHURE_MIN_WORDS = 25
BROCHURE = "a brochure's voice, not a reader's"
_A_READERS_OWN_WORDS = re.compile(
    r"(?i)\b(?:i|i['’](?:m|ve|d|ll)|me|my|mine|myself|thanks?|thx|cheers)\b|\?|(?:^|\s)@\w"
)
# A headline: an article, a product page or a proposal opens on a line in Title Case ("Buy Photo Moon Lamp
# Online", "Prepare to Set Sail on Your Own Private Cruise?") and its body follows; readers open on a
# sentence. Short words may stay small ("to", "on", "till"), a shout in capitals is no headline.
HEADLINE = "a headline, as an advertisement opens"
HEADLINE_MIN_WORDS = 3  # Title-Case words in the opening line, most of its words
HEADLINE_BODY_WORDS = 8  # words after it: a line alone is a name or a greeting
_OPENING_LINE = re.compile(r"^\W*([^\n<.!?:]{1,120}?)\s*(?:[.!?:]+(?=\s)|\n|<|$)")
_TITLE_WORD = re.compile(r"^[A-Z][a-z][\w'’&-]*$")
_SMALL_WORD = re.compile(r"^(?:[a-z]{1,4}|[\w-]*\d[\w-]*)$")
REGISTER_FROM = 2  # families of business talk from which a text starts to read like an advertisement
REGISTER_STEP = 1.0  # log-odds for each family from REGISTER_FROM on
REGISTER_MAX = 3.0
# A whole comment that is its writer's trade and nothing else: a profile's one line ("I am a travel
# blogger."). A reader who names their trade goes on to say something about the page.
_ONE_LINE_PROFILE = re.compile(
    r"(?i)^\W*(?:(?:hi|hello|hey)\W+)?(?:i\s+am|i['’]m)\s+(?:a|an)\s+(?:[\w-]+\s+){0,3}"
    r"(?:blogger|writer|advisor|adviser|consultant|expert|marketer|executive|specialist|freelancer|strategist|"
    r"coach|tutor|agent|developer|designer)(?:\s+(?:from|in|at|based\s+in)\s+[\w\s,.-]{1,40}?)?\W*$"
)
# A whole comment that is a name in Title Case and nothing else: a product's, a shop's or a brand's ("8 Ball
# Jackets"), as a blocked account's profile is. A reader who names a thing says something of it; a shout
# in capitals is no name, and praise or a greeting in Title Case ("Best World Cup Song", "Happy New Year")
# is a reader's cheer.
_NAME_ALONE = re.compile(
    r"^\s*(?:\d+\s+)?[A-Z][a-z][\w'’&-]*(?:\s+(?:[A-Z][a-z][\w'’&-]*|of|and|the|for|&)){1,5}\s*$"
)
_CHEER = re.compile(
    rf"(?i)\b(?:{_PRAISE_WORD}|love|loved|like|thanks?|happy|merry|congrat\w*|welcome|hello|hi)\b"
)
# A link's own words instead of its address: how a link is placed for a search engine ("io games").
_NOT_KEYWORDS = frozenset({"here", "this", "link", "source", "see", "docs", "documentation", "page", "post"})

# Words that make a website, an author name or an anchor text read like an advertisement.
_SELLING = """
    buy cheap best discount deal deals sale shop store online order price prices cost affordable top service
    services agency company solutions marketing seo backlinks casino casinos bet betting slots poker loan
    loans credit cash money insurance lawyer attorney pharmacy pills viagra cialis essay essays writing
    writer homework dissertation replica replicas watches handbags escort escorts dating movies streaming
    crypto bitcoin forex trading invest investment repair plumber plumbing locksmith cleaning movers
    packers roofing dentist clinic rehab vpn followers likes reviews hosting coupon coupons promo free
    download apk mod hack cracked keygen
    """
_COMMERCIAL = frozenset(_SELLING.split())
_BUSINESS_NAME = re.compile(
    r"(?i)\b(?:llc|inc|ltd|pvt|gmbh|corp|co\.|company|agency|services|solutions|technologies|consultants?|"
    r"near\s+me|online|official|store|shop)\b"
)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(\s*<?(?:https?://|www\.)")
_HTML_LINK = re.compile(r"(?is)<a\b[^>]*\bhref\s*=[^>]*>(.{1,200}?)</a\s*>")
_BBCODE_LINK = re.compile(r"(?is)\[url=[^\]]+\](.{1,200}?)\[/url\]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_TAGS = re.compile(r"<[^<>]{0,2000}>")
_ANY_TAG = re.compile(r"<[^>]*>")
# Compiled once, not looked up in ``re``'s cache for every comment.
_WRITTEN_OUT = re.compile(r"(?i)https?://|www\.")
_LABEL_PARTS = re.compile(r"[\d_-]+")
_LINK_SCHEME = re.compile(r"(?i)^(?:https?://)?")
_DOTTED_NUMBERS = re.compile(r"[\d.]+")
_SCHEME = re.compile(r"^[a-z]+://")
_LOWER_WORD = re.compile(r"[a-z]+")
# Chinese and Japanese are written without spaces: a run of their characters is many words, not one.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

GENERIC_SIMILARITY = 0.5  # share of a template's word pairs a comment must repeat to count as generic
GENERIC_MAX_WORDS = 40  # longer comments say something of their own
LIGHT_PRAISE_MAX_WORDS = 30  # one phrase of praise is all a comment this short says
HOME_PAGE = "a link to a site's home page"
# Closing tags, line breaks and punctuation after a comment's last words; a link as its last words.
_TRAILING_MARKUP = re.compile(r"(?:\s|</?(?:p|br|strong|b|em|i|u|span|div)\b[^>]*>|[.!;,])+$", re.IGNORECASE)
# A link standing on its own after a finished sentence, not introduced by the words before it ("my
# write-up: https://…", "at https://…"): the link is not part of what the comment says.
_LINK_AT_END = re.compile(
    r"(?i)[.!?…)](?:\s|</?(?:p|br|strong|b|em|i|u|span|div)\b[^>]*>)+"
    r"(?:<a\b[^>]*>[^<]*</a\s*>|\[url=[^\]]+\][^\[]*\[/url\]|\[[^\]]+\]\([^)\s]+\)|(?:https?://|www\.)[^\s<>]+)$"
)
# A writer speaking of their own site, which a link after it then is.
_OWN_SITE = re.compile(
    r"\bmy\s+(?:own\s+)?(?:blog|site|website|homepage|home\s+page|page|notes|write-?up|article|post|project|repo)\b"
)
# Beside blog-spam (and relevance) evidence of at least this total weight, the prior's words may argue
# innocence no further than its base rate (``judge._discounted``).
BOUNDED_FROM = 1.0
# A ham vote of the classifier beside blog-spam evidence of at least this total weight counts for this share.
DISCOUNT_FROM = 2.0
DISCOUNT = 0.5
LINK_DROP_MAX_WORDS = 12  # words besides a link under which a comment says nothing of its own
UNNAMED_END_LINK = 2.0  # a home page at a comment's end that its words never name: enough to doubt the prior
# A link under words of its own at a comment's end that its words never speak of: less than a home page, as
# readers link a page deep in a site under their own words more often than a site's front page.
UNSPOKEN_END_ANCHOR = 1.5


def judge(
    text: str, author: Sender, *, links: int | None = None, promoted: str | None = None
) -> list[Evidence]:
    """The blog-spam signals' evidence on a comment and who sent it; ``links`` is the text's
    ``link_count`` and ``promoted`` its ``promoted_link`` ("" without a link), when already known."""
    found: list[Evidence] = []
    website = author.website.strip()
    if links is None:
        links = link_count(text)
    linked = links > 0 or bool(website)
    # A phone number, written as one or labelled: the support lines and the sales pitch both ask.
    phone = bool(_PHONE.search(text) or _LABELLED_PHONE.search(text))
    found += _support_lines(text, phone=phone)
    name = _keyword_name(author.name)
    if name:
        found.append(Evidence("blog", 1.5, f"the author name reads like a business or keywords ('{name}')"))
    praise = _praise_count(text)
    plain = without_links(_TAGS.sub(" ", text))  # the words besides links and markup, read once
    length = _word_count(plain)
    generic = is_generic(text) or praise >= 2
    commercial_site = _commercial_words(website)
    if promoted is None:
        promoted = promoted_link(text) if links else ""
    ends_with_link = bool(promoted) and _ends_with_link(text)
    if generic and promoted:
        found.append(Evidence("blog", 3.5, f"generic praise that fits any article, with {promoted}"))
    elif praise and promoted and (length <= LIGHT_PRAISE_MAX_WORDS or ends_with_link):
        found.append(Evidence("blog", 2.5, f"praise that fits any article, with {promoted}"))
    elif generic and (links or commercial_site or name):
        what = "a link" if links else "a business website" if commercial_site else "a keyword name"
        found.append(Evidence("blog", 2.5, f"generic praise that fits any article, with {what}"))
    elif generic and website:
        found.append(Evidence("blog", 1.0, "generic praise that fits any article, with a website"))
    elif commercial_site:
        words = ", ".join(commercial_site[:2])
        found.append(Evidence("blog", 0.8, f"a website named for selling ({words})"))
    anchor = _keyword_anchor(text)
    if anchor:
        found.append(Evidence("blog", 1.5, f"a link with keyword anchor text ('{anchor}')"))
    if links >= 3 and length < 8 * links:  # two screenshots and a line are a reader's bug report
        found.append(Evidence("blog", 1.0, f"{links} links in {length} words: mostly links"))
    if promoted and not praise and not generic and not anchor and length <= LINK_DROP_MAX_WORDS:
        found.append(Evidence("blog", 2.5, f"{promoted}, with {length} words besides"))
    elif ends_with_link and not praise and not generic and promoted == HOME_PAGE:
        # A story that has nothing to do with the link it ends on: the link is what it was posted for.
        if _names_linked_sites(text):
            found.append(Evidence("blog", 1.5, f"{HOME_PAGE}, put at the end of the comment"))
        else:
            # A reader who ends on a site's home page ends on the site they wrote about; a story that
            # never names the site it ends on was written to carry the link.
            said = f"{HOME_PAGE} that the comment never names, put at its end"
            found.append(Evidence("blog", UNNAMED_END_LINK, said))
    elif ends_with_link and not praise and not generic and not _speaks_of_end_anchor(text):
        # The same story ending on a link under words of its own, words the comment never speaks of.
        said = "a link under words the comment never speaks of, put at its end"
        found.append(Evidence("blog", UNSPOKEN_END_ANCHOR, said))
    found += _pitch(text, linked=linked, phone=phone)
    found += _register(plain, length)
    alone = plain.strip()
    # The words alone decide these two: a link beside a profile or a shop's name makes it no less one.
    besides = "a link" if links else "nothing else"
    if _ONE_LINE_PROFILE.match(alone):
        found.append(Evidence("blog", 1.0, f"a one-line profile: its writer's trade and {besides}"))
    elif _NAME_ALONE.match(alone) and not _CHEER.search(alone):
        found.append(Evidence("blog", 1.0, f"a product's or a shop's name and {besides} ('{alone[:60]}')"))
    service = _service(text) or (_service(website.replace("-", " ")) if website else None)
    if service is not None:
        if linked:
            found.append(Evidence("blog", 2.5, f"advertises {service}, with a link"))
        else:
            found.append(Evidence("blog", 1.0, f"mentions {service}"))
    return found


def discounted(base: float, found: list[Evidence]) -> float:
    """The text classifier's log-odds as a vote beside blog-spam evidence: the classifier learned its
    ham from songs, text messages and tweets and has never seen blog spam, so its confidence that a
    business profile or a link drop is ordinary conversation is discounted (by ``DISCOUNT``) once a
    blog-spam shape of some weight (``DISCOUNT_FROM``) is found. Only a ham vote is discounted: the
    score never falls for it."""
    if base >= 0.0 or sum(e.weight for e in found) < DISCOUNT_FROM:
        return base
    return base * DISCOUNT


def _service(text: str) -> str | None:
    """The family of the first service the text advertises, if any: the one found earliest in the text,
    the first in ``_SERVICES``' order among those found at the same place."""
    first: tuple[int, str] | None = None
    for name, pattern in _SERVICES.items():
        match = pattern.search(text)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), name)
    return first[1] if first is not None else None


def _praise_count(text: str) -> int:
    """How many kinds of praise that fits any page a comment of no great length holds (0 for a long one)."""
    if _word_count(text) > PRAISE_MAX_WORDS:
        return 0
    return sum(1 for pattern in _PRAISE if pattern.search(text))


def promoted_link(text: str) -> str:
    """How a link is placed to promote a site rather than to show a reader something: under words of
    its own (keyword anchor text) or to a site's home page; "" for neither."""
    named = _own_anchor(text)
    if named:
        return f"a link under words of its own ('{named}')"
    # The addresses a reader sees (an HTML link shows its text), whole: Disqus shows a long address cut
    # short ("https://blog.example.i..."), which is no home page.
    whole = [link for link in links_in(_TAGS.sub("", text)) if not link.endswith(("...", "…"))]
    deep = {domain_of(link) for link in whole if not _is_home_page(link)}
    # A bare "example.com" names a service in passing; a promoted link is written out in full.
    written = [link for link in whole if _WRITTEN_OUT.match(link)]
    if any(_is_home_page(link) and domain_of(link) not in deep for link in written):
        return HOME_PAGE
    return ""


def _names_linked_sites(text: str) -> bool:
    """Whether the words besides the links name a site the text links to: a part of its host's name
    ("pgbouncer" for pgbouncer.org, "drift" for drift-boss.io), a word of theirs inside it ("tree" in
    jvstreeservice.com), or the writer's own site ("… on my blog. https://…")."""
    plain = without_links(_TAGS.sub(" ", text)).lower()
    if _OWN_SITE.search(plain):
        return True
    words = {w for w in _WORD.findall(plain) if len(w) >= 4}
    for link in links_in(text):
        labels = domain_of(link).split(".")[:-1]
        parts = [p for label in labels for p in _LABEL_PARTS.split(label) if len(p) >= 4]
        if any(p in plain for p in parts) or any(w in label for w in words for label in labels):
            return True
    return False


def _speaks_of_end_anchor(text: str) -> bool:
    """Whether the comment's words besides its last link speak of what that link's own words name: one of
    the anchor's content words (four letters or more, cut to five) elsewhere in the text."""
    found = [m for pattern in (_HTML_LINK, _MARKDOWN_LINK, _BBCODE_LINK) for m in pattern.finditer(text)]
    if not found:
        return True
    last = max(found, key=lambda m: m.start())
    anchor = _TAGS.sub(" ", last.group(1)).lower()
    rest = without_links(_TAGS.sub(" ", text[: last.start()] + " " + text[last.end() :])).lower()
    said = {w[:5] for w in _WORD.findall(rest) if len(w) >= 4}
    named = [w[:5] for w in _WORD.findall(anchor) if len(w) >= 4 and w not in FUNCTION_WORDS]
    return not named or any(w in said for w in named)


def _ends_with_link(text: str) -> bool:
    """The comment's last words are a link (an HTML, Markdown or BBCode link, or an address)."""
    end = _TRAILING_MARKUP.sub("", text)
    return bool(_LINK_AT_END.search(end))


def _is_home_page(link: str) -> bool:
    """A site's front page; not a server a reader is showing (a port, localhost, an IP address)."""
    rest = _LINK_SCHEME.sub("", link).rstrip(".,;:!?…")
    host, _, path = rest.partition("/")
    if ":" in host or host.lower() == "localhost" or _DOTTED_NUMBERS.fullmatch(host):
        return False
    return path.strip("/") in ("", "index.html", "index.php", "home")


def _own_anchor(text: str) -> str:
    """The text of a link written as words rather than its address (HTML, Markdown or BBCode), if any."""
    for pattern in (_HTML_LINK, _MARKDOWN_LINK, _BBCODE_LINK):
        for match in pattern.finditer(text):
            anchor = _ANY_TAG.sub("", match.group(1)).strip()
            words = [w.lower() for w in _WORD.findall(anchor)]
            if words and not links_in(anchor) and not set(words) <= _NOT_KEYWORDS and "..." not in anchor:
                return anchor[:60]
    return ""


def _pitch(text: str, *, linked: bool, phone: bool) -> list[Evidence]:
    """A business speaking of itself: two or more phrases of a sales pitch, or its contact details."""
    said = list(dict.fromkeys(m.group(0).lower() for m in _PITCH.finditer(text)))
    address = bool(_CONTACT_LABEL.search(text))
    contact = address or phone
    if address and phone and not said:
        return [Evidence("blog", 2.0, "a business's contact details (an address and a phone number)")]
    if len(said) >= 2 or (said and contact):
        quoted = ", ".join(f"'{p}'" for p in said[:2])
        weight = 3.0 if linked or contact else 2.0
        details = " and its contact details" if contact else ""
        return [Evidence("blog", weight, f"a business's sales pitch ({quoted}){details}")]
    return []


def _register(plain: str, length: int) -> list[Evidence]:
    """How much a text talks like a business advertising itself: graded by the number of families of
    business talk it touches (a company, customers, offers, products, quality claims, prices, a call to
    buy, years in business, markets), independent of any template's wording. ``plain``: the text without
    its links and markup, of ``length`` words (``_word_count``)."""
    if length < REGISTER_MIN_WORDS:
        return []
    families = [name for name, pattern in _REGISTER if pattern.search(plain)]
    headline = _headline(plain)
    if headline:
        families.append(HEADLINE)
    # The voice is the body's: a headline's question ("… Your Own Private Cruise?") asks no one.
    if len(families) == REGISTER_FROM - 1 and _brochure_voice(plain.strip()[len(headline) :]):
        families.append(BROCHURE)
    count = len(families)
    if count < REGISTER_FROM:
        return []
    weight = min(REGISTER_MAX, REGISTER_STEP * (count - REGISTER_FROM + 1))
    said = ", ".join(families[:3])
    return [Evidence("blog", weight, f"reads like a business advertising itself ({said})")]


def _headline(plain: str) -> str:
    """The text's opening line when it is a headline in Title Case with a body after it, else ""."""
    text = plain.strip()
    match = _OPENING_LINE.match(text)
    if match is None:
        return ""
    words = match.group(1).split()
    titled = sum(1 for w in words if _TITLE_WORD.match(w))
    small = sum(1 for w in words if _SMALL_WORD.match(w))
    # One word of another kind may stand in it: a shop's name in lower case ("… Online with kateminimalist").
    if titled < HEADLINE_MIN_WORDS or titled + small + 1 < len(words) or 2 * titled <= len(words):
        return ""
    if _word_count(text[match.end() :]) < HEADLINE_BODY_WORDS:
        return ""  # a line alone is a name or a greeting, not a headline over a body
    return text[: match.end()]


def _brochure_voice(plain: str) -> bool:
    """Whether an English text of paragraph length is written without a word of its writer's own:
    no first person singular, no question, no thanks (``_A_READERS_OWN_WORDS``)."""
    if _word_count(plain) < BROCHURE_MIN_WORDS or _A_READERS_OWN_WORDS.search(plain):
        return False
    return relevance.language(plain) == "English"


def _word_count(text: str) -> int:
    """Words a reader sees, counting two characters of Chinese or Japanese as a word (their words are
    mostly one or two characters long)."""
    words = _WORD.findall(text)
    if not _CJK.search(text):
        return len(words)  # the common case: one word each
    return sum(max(1, len(_CJK.findall(word)) // 2) for word in words)


def _support_lines(text: str, *, phone: bool) -> list[Evidence]:
    supports = list(_SUPPORT.finditer(text))
    # The brands (the longest list to scan for) matter only beside a phone number or support wording.
    brands = list(_BRANDS.finditer(text)) if phone or supports else []
    found: list[Evidence] = []
    if phone and (supports or brands):
        found.append(Evidence("blog", 3.5, "a phone number in customer-support wording"))
    elif phone:
        found.append(Evidence("blog", 0.7, "a phone number"))
    pair = next(((b, s) for b in brands for s in supports if _near(b, s)), None)
    if pair is not None:
        said = f"{pair[0].group(0)} … {pair[1].group(0)}"
        found.append(Evidence("blog", 2.5, f"a brand name with customer-support wording ({said})"))
    return found


def _near(a: re.Match[str], b: re.Match[str], gap: int = 60) -> bool:
    return abs(a.start() - b.start()) <= gap


def _keyword_name(name: str) -> str:
    """The author name when it reads like keywords or a business: a selling word among others, or a
    company form ("LLC", "Solutions", "near me")."""
    name = name.strip()
    if not name:
        return ""
    words = [w.lower() for w in _WORD.findall(name)]
    selling = [w for w in words if w in _COMMERCIAL]
    if _BUSINESS_NAME.search(name) or (selling and len(words) >= 2):
        return name[:60]
    return ""


def _commercial_words(website: str) -> list[str]:
    if not website:
        return []
    host_and_path = _SCHEME.sub("", website.lower())
    return [w for w in _LOWER_WORD.findall(host_and_path) if w in _COMMERCIAL and w != "online"]


def _keyword_anchor(text: str) -> str:
    """The text of a link whose words sell something (HTML, Markdown or BBCode), if any."""
    for pattern in (_HTML_LINK, _MARKDOWN_LINK, _BBCODE_LINK):
        for match in pattern.finditer(text):
            anchor = _ANY_TAG.sub("", match.group(1)).strip()
            words = [w.lower() for w in _WORD.findall(anchor)]
            if sum(w in _COMMERCIAL for w in words) >= 1 and len(words) >= 2:
                return anchor[:60]
    return ""


def is_generic(text: str) -> bool:
    """True for a short comment that repeats most of one of the shipped generic templates."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words or len(words) > GENERIC_MAX_WORDS:
        return False
    pairs = _pairs(words)
    if not pairs:
        return False
    for template in _templates():
        shared = len(template & pairs)
        if shared / len(template) >= GENERIC_SIMILARITY and shared / len(pairs) >= GENERIC_SIMILARITY / 2:
            return True
    return False


def _pairs(words: list[str]) -> frozenset[tuple[str, str]]:
    # Content words in order, each with the next: "great post thanks sharing" → (great, post), (post,
    # thanks), (thanks, sharing); function words are skipped so "thanks for sharing" = "thanks sharing".
    content = [w for w in words if w not in FUNCTION_WORDS or w in ("thanks", "thank", "you")]
    return frozenset(zip(content, content[1:], strict=False))


# The templates shipped in the package, read at their first use: a constant, not state.
@cache
def _templates() -> tuple[frozenset[tuple[str, str]], ...]:
    data = resources.files("rejoinder.spam").joinpath("data", "generic-comments.txt").read_text("utf-8")
    lines = [line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#")]
    return tuple(p for p in (_pairs(line.split()) for line in lines) if p)
