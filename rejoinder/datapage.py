"""The words of each site's generated page *How your comment data is processed* (en, uk, de), and the
facts it states that do not come from the site's settings alone (what mail the server sends, where the
site's webhooks go); the page itself is web/templates/data-page.html, filled in from both."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from rejoinder.context import Context
from rejoinder.model import Site, SiteSettings
from rejoinder.notify import subscriptions
from rejoinder.store import webhooks as webhook_store

LANGUAGES = (("en", "English"), ("uk", "Українська"), ("de", "Deutsch"))

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "identities": "If you log in to comment (with {providers}): the account id the provider gives, the "
        "name, profile address and, when the provider has verified it, e-mail address it shares, so that "
        "your "
        "comments, likes and edits follow you across devices; and, for each log-in, only a hash of the token "
        "your browser keeps, for {days:g} days or until you log out.",
        "login_third": "Only if you click a log-in icon does your browser go to that provider ({providers}), "
        "which then learns you log in here.",
        "avatars_third": "Comments of readers who logged in show the picture their provider has of them: "
        "your browser loads these pictures from the providers' servers ({providers}).",
        "title": "How your comment data is processed",
        "intro": "For the comments on {site}, served by a Rejoinder server the site runs itself.",
        "stored": "What is stored",
        "comment": "Each comment: its text, the name and website you gave (shown with it), and your e-mail "
        "address, which is never shown and never sent to anyone.",
        "client_plain": "The network address and browser name it came from, to keep spam and abuse out; "
        "erased {days} days after posting, or at once when you delete the comment.",
        "client_hashed": "Only a keyed hash of the network address and browser name it came from (enough to "
        "tell senders apart, not to find out who they are); erased {days} days after posting, or at once "
        "when you delete the comment.",
        "likes": "For likes, a keyed hash of a random number your browser made up; nothing that names you.",
        "likes_address": "So that one network address counts one like per comment, the server keeps a keyed "
        "hash of the address and the comment for {hours:g} hours.",
        "notify": "If you ask for e-mail notifications ({kinds}): your e-mail address, what you asked for, "
        "when you confirmed it by the link mailed to you (a link that works for {days} days), when the last "
        "mail went, and which comments the next one will tell of (at most one mail an hour for each). Kept "
        "until you unsubscribe or ask for erasure; if the site's moderators stop all mail to your address, "
        "the address alone stays, so that no mail resumes.",
        "notify_thread": "new comments in a thread",
        "notify_replies": "replies to your comment",
        "notify_posts": "the site's new posts",
        "webhooks": "A copy of each comment's public part (name, website and text; never the e-mail or "
        "network address) is sent, when it is posted, edited or moderated, to services the site chose: "
        "{hosts}. The server keeps a log of these deliveries; erasing a comment blanks it there too.",
        "feeds": "Published comments (name, website and text) also appear in the site's and each thread's "
        "Atom feeds.",
        "why": "Why",
        "why_text": "To show the discussion, to let you edit your comment, and to keep spam and abuse out.",
        "why_notify": "Your e-mail address also serves to send you the notifications you asked for, and "
        "nothing else.",
        "who": "Who sees it",
        "who_text": "Everyone sees your comment, name and website. Only the site's moderators see your "
        "e-mail address and, while it is kept, the network address.",
        "third": "Third parties",
        "third_none": "None: your browser talks only to this site and its comment server, and nothing is "
        "sent to anyone else.",
        "third_browser": "Your browser talks only to this site and its comment server.",
        "third_mail": "Notification mails go to your address through the mail server the site sends its "
        "mail with.",
        "third_webhooks": "The public part of comments goes to services the site chose: {hosts}.",
        "rights": "Export and erasure",
        "rights_text": "You can edit or delete a comment yourself for {minutes} minutes after posting. Ask "
        "the site's owner for an export (JSON) of all your comments or for their erasure: they are found by "
        "your e-mail address, and an erased comment leaves only a placeholder so replies keep their place.",
        "rights_self": "You can edit or delete a comment yourself for {minutes} minutes after posting. To "
        "get a copy (JSON) of all your comments, notifications and log-ins, or to erase them, give the "
        "e-mail address you signed them with below: if anything is kept under it, a link that works once, "
        "within {hours} hour, is mailed to it, and its page does what you asked once you press its button. "
        "This covers every site this comment server runs. An erased comment leaves only a placeholder so "
        "replies keep their place.",
        "form_email": "Your e-mail address",
        "form_export": "Get a copy of your data",
        "form_erase": "Erase your comments",
        "form_send": "Mail me the link",
        "sent_heading": "Check your mail",
        "sent_lead": "If any comments, notifications or log-ins are kept under {email}, a link that works "
        "once, within {minutes} minutes, is on its way there.",
        "confirm_export_heading": "Get a copy of your comment data from {site}",
        "confirm_erase_heading": "Erase your comments on {site}",
        "confirm_as": "For {email}, on every site this comment server runs.",
        "confirm_export_button": "Download (JSON)",
        "confirm_erase_button": "Erase everything",
        "erase_warning": "Your comments, notification subscriptions and log-ins with this address go for "
        "good: this cannot be undone.",
        "erased_heading": "Erased",
        "erased_lead": "{comments} comments (each leaves a placeholder so replies keep their place) and "
        "{subscriptions} notification subscriptions are erased, and any log-in with this address is "
        "forgotten.",
        "request_failed": "The request could not be carried out",
        "back": "How your comment data is processed",
        "rights_notify": "Every notification mail has a link that unsubscribes at once and one to a page "
        "that lists all your subscriptions on this site, where you can cancel any of them. An export by "
        "e-mail address lists your subscriptions too, and an erasure removes them.",
    },
    "uk": {
        "identities": "Якщо ви входите, щоб коментувати (через {providers}): ідентифікатор облікового запису "
        "від провайдера, ім'я, адреса профілю та, якщо провайдер її підтвердив, адреса e-mail, щоб ваші "
        "коментарі, вподобання й редагування були з вами на всіх пристроях; для кожного входу зберігається "
        "лише хеш токена вашого браузера, {days:g} днів або до виходу.",
        "login_third": "Лише якщо ви натиснете значок входу, ваш браузер звернеться до цього "
        "провайдера ({providers}), і він дізнається, що ви входите тут.",
        "avatars_third": "Коментарі читачів, що увійшли, показують їхнє зображення від провайдера: ваш "
        "браузер "        "завантажує ці зображення з серверів провайдерів ({providers}).",
        "title": "Як обробляються дані ваших коментарів",
        "intro": "Для коментарів на {site}, які обслуговує власний сервер Rejoinder цього сайту.",
        "stored": "Що зберігається",
        "comment": "Кожен коментар: його текст, ім'я та вебсайт, які ви вказали (показуються з ним), і ваша "
        "адреса e-mail, яку ніколи не показують і нікому не надсилають.",
        "client_plain": "Мережева адреса та назва браузера, з яких його надіслано, щоб не пускати спам і "
        "зловживання; стираються через {days} днів після надсилання або одразу, коли ви видаляєте коментар.",
        "client_hashed": "Лише ключовий хеш мережевої адреси та назви браузера (досить, щоб розрізняти "
        "відправників, але не щоб дізнатися, хто вони); стирається через {days} днів або одразу, коли ви "
        "видаляєте коментар.",
        "likes": "Для вподобань: ключовий хеш випадкового числа, створеного вашим браузером; нічого, що "
        "вас називає.",
        "likes_address": "Щоб одна мережева адреса рахувала одне вподобання на коментар, сервер зберігає "
        "ключовий хеш адреси та коментаря {hours:g} год.",
        "notify": "Якщо ви просите сповіщення e-mail ({kinds}): ваша адреса e-mail, на що ви підписалися, "
        "коли ви підтвердили підписку за надісланим посиланням (воно діє {days} днів), коли пішов останній "
        "лист і про які коментарі розповість наступний (щонайбільше один лист на годину для кожної "
        "підписки). Зберігається, доки ви не відпишетеся або не попросите стирання; якщо модератори сайту "
        "зупинили всі листи на вашу адресу, лишається тільки адреса, щоб листи не відновилися.",
        "notify_thread": "нові коментарі в обговоренні",
        "notify_replies": "відповіді на ваш коментар",
        "notify_posts": "нові дописи сайту",
        "webhooks": "Копія публічної частини кожного коментаря (ім'я, вебсайт і текст; ніколи адреса "
        "e-mail чи мережева адреса) надсилається, коли його надіслано, змінено або модеровано, до служб, "
        "які обрав сайт: {hosts}. Сервер веде журнал цих доставок; стирання коментаря очищає і його.",
        "feeds": "Опубліковані коментарі (ім'я, вебсайт і текст) також з'являються у стрічках Atom сайту "
        "та кожного обговорення.",
        "why": "Навіщо",
        "why_text": "Щоб показати обговорення, дати вам змогу редагувати коментар і не пускати спам.",
        "why_notify": "Ваша адреса e-mail також потрібна, щоб надсилати сповіщення, які ви попросили, і "
        "ні для чого іншого.",
        "who": "Хто це бачить",
        "who_text": "Усі бачать ваш коментар, ім'я та вебсайт. Лише модератори сайту бачать вашу адресу "
        "e-mail і, поки вона зберігається, мережеву адресу.",
        "third": "Треті сторони",
        "third_none": "Жодних: ваш браузер звертається лише до цього сайту та його сервера коментарів.",
        "third_browser": "Ваш браузер звертається лише до цього сайту та його сервера коментарів.",
        "third_mail": "Листи зі сповіщеннями йдуть на вашу адресу через поштовий сервер, яким сайт "
        "надсилає пошту.",
        "third_webhooks": "Публічна частина коментарів іде до служб, які обрав сайт: {hosts}.",
        "rights": "Експорт і стирання",
        "rights_text": "Ви можете редагувати або видалити коментар протягом {minutes} хвилин після "
        "надсилання. Попросіть власника сайту про експорт (JSON) усіх ваших коментарів або про їх стирання: "
        "їх знаходять за вашою адресою e-mail, а від стертого коментаря лишається місце для відповідей.",
        "rights_self": "Ви можете редагувати або видалити коментар протягом {minutes} хвилин після "
        "надсилання. Щоб отримати копію (JSON) усіх ваших коментарів, сповіщень і входів або стерти їх, "
        "вкажіть нижче адресу e-mail, з якою ви їх надсилали: якщо під нею щось зберігається, на неї прийде "
        "посилання, що діє один раз протягом {hours} год., і його сторінка виконає запит, коли ви натиснете "
        "кнопку. Це стосується всіх сайтів цього сервера коментарів. Від стертого коментаря лишається місце "
        "для відповідей.",
        "form_email": "Ваша адреса e-mail",
        "form_export": "Отримати копію своїх даних",
        "form_erase": "Стерти свої коментарі",
        "form_send": "Надіслати посилання",
        "sent_heading": "Перевірте пошту",
        "sent_lead": "Якщо під адресою {email} зберігаються коментарі, сповіщення чи входи, на неї вже йде "
        "посилання, що діє один раз протягом {minutes} хвилин.",
        "confirm_export_heading": "Отримати копію даних ваших коментарів з {site}",
        "confirm_erase_heading": "Стерти ваші коментарі на {site}",
        "confirm_as": "Для {email}, на всіх сайтах цього сервера коментарів.",
        "confirm_export_button": "Завантажити (JSON)",
        "confirm_erase_button": "Стерти все",
        "erase_warning": "Ваші коментарі, підписки на сповіщення та входи з цією адресою зникнуть назавжди: "
        "це не можна скасувати.",
        "erased_heading": "Стерто",
        "erased_lead": "Стерто коментарів: {comments} (від кожного лишається місце для відповідей), підписок "
        "на сповіщення: {subscriptions}; входи з цією адресою забуто.",
        "request_failed": "Запит не вдалося виконати",
        "back": "Як обробляються дані ваших коментарів",
        "rights_notify": "У кожному листі зі сповіщенням є посилання, що одразу відписує, і посилання на "
        "сторінку з усіма вашими підписками на цьому сайті, де можна скасувати будь-яку з них. Експорт за "
        "адресою e-mail містить і ваші підписки, а стирання їх видаляє.",
    },
    "de": {
        "identities": "Wenn du dich zum Kommentieren anmeldest (mit {providers}): die Konto-ID des "
        "Anbieters, der Name, die Profiladresse und, wenn der Anbieter sie bestätigt hat, die "
        "E-Mail-Adresse, damit deine Kommentare, Likes und Änderungen dir auf allen Geräten folgen; und je "
        "Anmeldung nur ein "
        "Hash des Tokens deines Browsers, {days:g} Tage lang oder bis du dich abmeldest.",
        "login_third": "Nur wenn du auf ein Anmelde-Symbol klickst, geht dein Browser zu diesem Anbieter "
        "({providers}), der dann erfährt, dass du dich hier anmeldest.",
        "avatars_third": "Kommentare angemeldeter Leser:innen zeigen das Bild ihres Anbieters: dein Browser "
        "lädt diese Bilder von den Servern der Anbieter ({providers}).",
        "title": "Wie deine Kommentardaten verarbeitet werden",
        "intro": "Für die Kommentare auf {site}, bereitgestellt von einem Rejoinder-Server der Website "
        "selbst.",
        "stored": "Was gespeichert wird",
        "comment": "Jeder Kommentar: sein Text, der Name und die Website, die du angibst (mit ihm "
        "angezeigt), und deine E-Mail-Adresse, die nie angezeigt und an niemanden gesendet wird.",
        "client_plain": "Die Netzwerkadresse und der Browsername, von denen er kam, um Spam und Missbrauch "
        "abzuwehren; gelöscht {days} Tage nach dem Absenden oder sofort, wenn du den Kommentar löschst.",
        "client_hashed": "Nur ein verschlüsselter Hash der Netzwerkadresse und des Browsernamens (genug, um "
        "Absender zu unterscheiden, nicht um sie zu erkennen); gelöscht nach {days} Tagen oder sofort, wenn "
        "du den Kommentar löschst.",
        "likes": "Für Likes ein verschlüsselter Hash einer Zufallszahl deines Browsers; nichts, was dich "
        "benennt.",
        "likes_address": "Damit eine Netzwerkadresse nur ein Like pro Kommentar zählt, behält der Server "
        "einen verschlüsselten Hash der Adresse und des Kommentars {hours:g} Stunden lang.",
        "notify": "Wenn du E-Mail-Benachrichtigungen möchtest ({kinds}): deine E-Mail-Adresse, was du "
        "abonniert hast, wann du es über den zugeschickten Link bestätigt hast (er gilt {days} Tage), wann "
        "die letzte Mail ging und von welchen Kommentaren die nächste erzählt (höchstens eine Mail pro "
        "Stunde und Abonnement). Gespeichert, bis du dich abmeldest oder die Löschung verlangst; stoppen die "
        "Moderatoren der Website alle Mails an deine Adresse, bleibt nur die Adresse, damit keine Mail "
        "wieder beginnt.",
        "notify_thread": "neue Kommentare in einer Diskussion",
        "notify_replies": "Antworten auf deinen Kommentar",
        "notify_posts": "neue Beiträge der Website",
        "webhooks": "Eine Kopie des öffentlichen Teils jedes Kommentars (Name, Website und Text; nie die "
        "E-Mail- oder Netzwerkadresse) geht, wenn er abgeschickt, bearbeitet oder moderiert wird, an "
        "Dienste, die die Website gewählt hat: {hosts}. Der Server führt ein Protokoll dieser "
        "Zustellungen; das Löschen eines Kommentars leert ihn auch dort.",
        "feeds": "Veröffentlichte Kommentare (Name, Website und Text) erscheinen auch in den Atom-Feeds der "
        "Website und jeder Diskussion.",
        "why": "Warum",
        "why_text": "Um die Diskussion zu zeigen, dir das Bearbeiten zu ermöglichen und Spam abzuwehren.",
        "why_notify": "Deine E-Mail-Adresse dient außerdem dazu, dir die gewünschten Benachrichtigungen zu "
        "schicken, und zu nichts sonst.",
        "who": "Wer es sieht",
        "who_text": "Alle sehen deinen Kommentar, Namen und deine Website. Nur die Moderatoren der Website "
        "sehen deine E-Mail-Adresse und, solange sie gespeichert ist, die Netzwerkadresse.",
        "third": "Dritte",
        "third_none": "Keine: dein Browser spricht nur mit dieser Website und ihrem Kommentar-Server.",
        "third_browser": "Dein Browser spricht nur mit dieser Website und ihrem Kommentar-Server.",
        "third_mail": "Benachrichtigungen gehen über den Mailserver, mit dem die Website ihre Mails "
        "verschickt, an deine Adresse.",
        "third_webhooks": "Der öffentliche Teil der Kommentare geht an Dienste, die die Website gewählt hat: "
        "{hosts}.",
        "rights": "Export und Löschung",
        "rights_text": "Du kannst einen Kommentar {minutes} Minuten lang selbst bearbeiten oder löschen. "
        "Bitte den Betreiber der Website um einen Export (JSON) all deiner Kommentare oder um ihre Löschung: "
        "sie werden über deine E-Mail-Adresse gefunden, und ein gelöschter Kommentar hinterlässt nur einen "
        "Platzhalter, damit Antworten ihren Platz behalten.",
        "rights_self": "Du kannst einen Kommentar {minutes} Minuten lang selbst bearbeiten oder löschen. Für "
        "eine Kopie (JSON) all deiner Kommentare, Benachrichtigungen und Anmeldungen oder für ihre Löschung "
        "gib unten die E-Mail-Adresse an, mit der du sie geschrieben hast: ist darunter etwas gespeichert, "
        "geht ein Link an sie, der einmal und {hours} Stunde lang funktioniert, und seine Seite tut, was du "
        "verlangt hast, sobald du ihren Knopf drückst. Das gilt für alle Websites dieses Kommentar-Servers. "
        "Ein gelöschter Kommentar hinterlässt nur einen Platzhalter, damit Antworten ihren Platz behalten.",
        "form_email": "Deine E-Mail-Adresse",
        "form_export": "Eine Kopie deiner Daten",
        "form_erase": "Deine Kommentare löschen",
        "form_send": "Link zuschicken",
        "sent_heading": "Sieh in deine Mails",
        "sent_lead": "Wenn unter {email} Kommentare, Benachrichtigungen oder Anmeldungen gespeichert sind, "
        "ist ein Link dorthin unterwegs, der einmal und {minutes} Minuten lang funktioniert.",
        "confirm_export_heading": "Eine Kopie deiner Kommentardaten von {site}",
        "confirm_erase_heading": "Deine Kommentare auf {site} löschen",
        "confirm_as": "Für {email}, auf allen Websites dieses Kommentar-Servers.",
        "confirm_export_button": "Herunterladen (JSON)",
        "confirm_erase_button": "Alles löschen",
        "erase_warning": "Deine Kommentare, Benachrichtigungs-Abonnements und Anmeldungen mit dieser Adresse "
        "verschwinden endgültig: das lässt sich nicht rückgängig machen.",
        "erased_heading": "Gelöscht",
        "erased_lead": "{comments} Kommentare (jeder hinterlässt einen Platzhalter, damit Antworten ihren "
        "Platz behalten) und {subscriptions} Benachrichtigungs-Abonnements sind gelöscht, und Anmeldungen "
        "mit dieser Adresse sind vergessen.",
        "request_failed": "Die Anfrage konnte nicht ausgeführt werden",
        "back": "Wie deine Kommentardaten verarbeitet werden",
        "rights_notify": "Jede Benachrichtigung enthält einen Link, der sofort abmeldet, und einen zu einer "
        "Seite mit all deinen Abonnements auf dieser Website, wo du jedes davon kündigen kannst. Ein Export "
        "nach E-Mail-Adresse listet auch deine Abonnements, eine Löschung entfernt sie.",
    },
}


def language(asked: str | None) -> str:
    code = (asked or "en").split("-")[0].lower()
    return code if code in TEXTS else "en"


@dataclass(frozen=True)
class Facts:
    """What the page says beyond the site's settings: the notifications the form offers (none when the
    server sends no mail) and the hosts the site's webhooks send comments to."""

    notifications: tuple[str, ...]
    confirm_days: int
    webhook_hosts: tuple[str, ...]

    def kinds(self, language: str) -> str:
        """The notifications offered, in words: "new comments in a thread, replies to your comment"."""
        return ", ".join(TEXTS[language][f"notify_{kind}"] for kind in self.notifications)


def facts(ctx: Context, site: Site, rules: SiteSettings) -> Facts:
    with ctx.db.read() as conn:
        hooks = webhook_store.site_webhooks(conn, site.id)
    # The host only: a webhook's path and query often hold its receiver's secret.
    hosts = sorted({urlsplit(hook.url).hostname or "" for hook in hooks} - {""})
    return Facts(
        notifications=tuple(subscriptions.offered(ctx, rules)),
        confirm_days=subscriptions.CONFIRM_FOR.days,
        webhook_hosts=tuple(hosts),
    )
