"""The words of each site's generated page *How your comment data is processed* (en, uk, de); the page
itself is web/templates/data-page.html, filled in from the site's settings."""

from __future__ import annotations

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
        "why": "Why",
        "why_text": "To show the discussion, to let you edit your comment, and to keep spam and abuse out.",
        "who": "Who sees it",
        "who_text": "Everyone sees your comment, name and website. Only the site's moderators see your "
        "e-mail address and, while it is kept, the network address.",
        "third": "Third parties",
        "third_none": "None: your browser talks only to this site and its comment server, and nothing is "
        "sent to anyone else.",
        "rights": "Export and erasure",
        "rights_text": "You can edit or delete a comment yourself for {minutes} minutes after posting. Ask "
        "the site's owner for an export (JSON) of all your comments or for their erasure: they are found by "
        "your e-mail address, and an erased comment leaves only a placeholder so replies keep their place.",
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
        "why": "Навіщо",
        "why_text": "Щоб показати обговорення, дати вам змогу редагувати коментар і не пускати спам.",
        "who": "Хто це бачить",
        "who_text": "Усі бачать ваш коментар, ім'я та вебсайт. Лише модератори сайту бачать вашу адресу "
        "e-mail і, поки вона зберігається, мережеву адресу.",
        "third": "Треті сторони",
        "third_none": "Жодних: ваш браузер звертається лише до цього сайту та його сервера коментарів.",
        "rights": "Експорт і стирання",
        "rights_text": "Ви можете редагувати або видалити коментар протягом {minutes} хвилин після "
        "надсилання. Попросіть власника сайту про експорт (JSON) усіх ваших коментарів або про їх стирання: "
        "їх знаходять за вашою адресою e-mail, а від стертого коментаря лишається місце для відповідей.",
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
        "why": "Warum",
        "why_text": "Um die Diskussion zu zeigen, dir das Bearbeiten zu ermöglichen und Spam abzuwehren.",
        "who": "Wer es sieht",
        "who_text": "Alle sehen deinen Kommentar, Namen und deine Website. Nur die Moderatoren der Website "
        "sehen deine E-Mail-Adresse und, solange sie gespeichert ist, die Netzwerkadresse.",
        "third": "Dritte",
        "third_none": "Keine: dein Browser spricht nur mit dieser Website und ihrem Kommentar-Server.",
        "rights": "Export und Löschung",
        "rights_text": "Du kannst einen Kommentar {minutes} Minuten lang selbst bearbeiten oder löschen. "
        "Bitte den Betreiber der Website um einen Export (JSON) all deiner Kommentare oder um ihre Löschung: "
        "sie werden über deine E-Mail-Adresse gefunden, und ein gelöschter Kommentar hinterlässt nur einen "
        "Platzhalter, damit Antworten ihren Platz behalten.",
    },
}


def language(asked: str | None) -> str:
    code = (asked or "en").split("-")[0].lower()
    return code if code in TEXTS else "en"
