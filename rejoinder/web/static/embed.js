/* Rejoinder's embed widget: a page's comment thread with its reply form, and comment counts for index
   pages. Plain JavaScript, no build step. Embedded with
     <div id="rejoinder-thread"></div>
     <script src="https://COMMENTS-HOST/embed.js" data-site="KEY" async></script>
   Every piece of text a reader wrote is inserted with textContent; the one exception is comment HTML,
   which the server renders and sanitises (see setServerHTML). Options: docs/guides/embed.md. */
(() => {
  'use strict';

  const script = document.currentScript || document.querySelector('script[data-site][src*="embed.js"]');
  if (!script || !script.dataset.site) return;

  /* ---------------------------------------------------------------- strings */

  // Plural entries are keyed by Intl.PluralRules categories; {n} and {name} are filled in by t().
  const CATALOGUE = {
    en: {
      comments: { one: '{n} comment', other: '{n} comments' },
      likes: { one: 'Liked by {n} person', other: 'Liked by {n} people' },
      firstLike: 'Be the first to like this',
      like: 'Like',
      reply: 'Reply',
      edit: 'Edit',
      del: 'Delete',
      save: 'Save',
      cancel: 'Cancel',
      confirmDelete: 'Delete this comment?',
      yesDelete: 'Yes, delete',
      edited: 'edited',
      deleted: 'This comment was deleted.',
      awaiting: 'Your comment is awaiting moderation.',
      anonymous: 'Anonymous',
      sort: 'Sort by',
      oldest: 'Oldest',
      newest: 'Newest',
      top: 'Most liked',
      loadMore: 'Load more comments',
      loading: 'Loading comments…',
      loadFailed: 'The comments could not be loaded.',
      unknownSite: 'Comments are not set up for this site.',
      closed: 'Comments are closed.',
      leave: 'Leave a Reply',
      replyTo: 'Reply to {name}',
      cancelReply: 'Cancel reply',
      comment: 'Comment',
      editComment: 'Edit your comment',
      markdown: 'Markdown: *emphasis*, [link](https://…), > quote, `code`, - list',
      preview: 'Preview',
      write: 'Write',
      nothing: 'Nothing to preview yet.',
      detailsLogin: 'Fill in your details below or click an icon to log in:',
      details: 'Fill in your details below:',
      name: 'Name',
      email: 'E-mail (never shown publicly)',
      website: 'Website',
      required: '(required)',
      remember: 'Save my name, e-mail and website in this browser for the next time I comment.',
      post: 'Post Comment',
      posting: 'Posting…',
      privacy: 'How your comment data is processed',
      quote: 'Quote in reply',
      posted: 'Your comment was posted.',
      held: 'Your comment was sent and is awaiting moderation.',
      saved: 'Your changes were saved.',
      removed: 'Your comment was deleted.',
      needBody: 'Please write a comment.',
      needField: 'This field is required on this site.',
      offline: 'The comment server could not be reached. Your text is kept here.',
      serverError: 'The comment server had a problem ({n}). Your text is kept here.',
      rateLimited: 'You are posting too quickly. Please wait a moment, then try again.',
      retry: 'Try again',
      logIn: 'Log in with {name}',
      connecting: 'Connecting to {name}…',
      justNow: 'just now',
      fresh: { one: '{n} new comment', other: '{n} new comments' },
      show: 'show',
      notifyThread: 'Notify me of new comments via email.',
      notifyReplies: 'Notify me of replies to my comment via email.',
      notifyPosts: 'Notify me of new posts via email.',
      notifyAsked: 'Notifications: a new address gets a mail to confirm first.',
      feed: 'Comments feed (Atom)',
      report: 'Report',
      reportWhy: 'Why should the moderators look at this comment?',
      reasons: { spam: 'Spam', abuse: 'Abusive', 'off-topic': 'Off-topic', other: 'Something else' },
      reportNote: 'Anything they should know (optional)',
      send: 'Send report',
      reported: 'Thank you: the moderators will look at it.',
      modEdited: 'edited by a moderator',
      pinned: 'Pinned',
      emailLogin: 'Log in by e-mail',
      yourEmail: 'Your e-mail address',
      sendLink: 'Send me a link',
      checkMail: 'Check your mail: a link to log in is on its way to {name}.',
      using: 'You are commenting using your {name} account',
      usingEmail: 'You are commenting using your e-mail address {name}',
      logOut: 'Log Out',
      change: 'Change',
      loggedIn: 'You are logged in as {name}.',
      loggedOut: 'You are logged out.',
      loginClosed: 'The login window was closed before you logged in.',
      loginFailed: 'The login did not work ({name}). Please try again.',
      popupBlocked: 'The browser blocked the login window: allow pop-ups for this site and try again.',
      expired: 'Your login has expired: log in again or fill in your details.',
      verified: 'Verified {name} account',
    },
    uk: {
      comments: { one: '{n} коментар', few: '{n} коментарі', many: '{n} коментарів', other: '{n} коментаря' },
      likes: {
        one: 'Сподобалося {n} людині',
        few: 'Сподобалося {n} людям',
        many: 'Сподобалося {n} людям',
        other: 'Сподобалося {n} людини',
      },
      firstLike: 'Будьте першим, кому це сподобається',
      like: 'Подобається',
      reply: 'Відповісти',
      edit: 'Редагувати',
      del: 'Видалити',
      save: 'Зберегти',
      cancel: 'Скасувати',
      confirmDelete: 'Видалити цей коментар?',
      yesDelete: 'Так, видалити',
      edited: 'змінено',
      deleted: 'Цей коментар видалено.',
      awaiting: 'Ваш коментар очікує на модерацію.',
      anonymous: 'Анонім',
      sort: 'Сортувати',
      oldest: 'Спершу старі',
      newest: 'Спершу нові',
      top: 'Найпопулярніші',
      loadMore: 'Завантажити ще коментарі',
      loading: 'Завантаження коментарів…',
      loadFailed: 'Не вдалося завантажити коментарі.',
      unknownSite: 'Коментарі для цього сайту не налаштовано.',
      closed: 'Коментування закрито.',
      leave: 'Залишити відповідь',
      replyTo: 'Відповідь для {name}',
      cancelReply: 'Скасувати відповідь',
      comment: 'Коментар',
      editComment: 'Редагування коментаря',
      markdown: 'Markdown: *курсив*, [посилання](https://…), > цитата, `код`, - список',
      preview: 'Перегляд',
      write: 'Писати',
      nothing: 'Поки що нічого переглядати.',
      detailsLogin: 'Заповніть дані нижче або натисніть значок, щоб увійти:',
      details: 'Заповніть дані нижче:',
      name: "Ім'я",
      email: 'Ел. пошта (ніколи не показується публічно)',
      website: 'Вебсайт',
      required: "(обов'язково)",
      remember: "Зберегти моє ім'я, ел. пошту та вебсайт у цьому браузері для наступних коментарів.",
      post: 'Надіслати коментар',
      posting: 'Надсилання…',
      privacy: 'Як обробляються дані ваших коментарів',
      quote: 'Цитувати у відповіді',
      posted: 'Ваш коментар опубліковано.',
      held: 'Ваш коментар надіслано, він очікує на модерацію.',
      saved: 'Зміни збережено.',
      removed: 'Ваш коментар видалено.',
      needBody: 'Напишіть коментар.',
      needField: "На цьому сайті це поле обов'язкове.",
      offline: "Не вдалося зв'язатися з сервером коментарів. Ваш текст збережено тут.",
      serverError: 'Помилка сервера коментарів ({n}). Ваш текст збережено тут.',
      rateLimited: 'Ви надсилаєте надто часто. Зачекайте трохи й спробуйте ще раз.',
      retry: 'Спробувати ще раз',
      logIn: 'Увійти через {name}',
      connecting: "З'єднання з {name}…",
      justNow: 'щойно',
      fresh: { one: '{n} новий коментар', few: '{n} нові коментарі', many: '{n} нових коментарів', other: '{n} нового коментаря' },
      show: 'показати',
      notifyThread: 'Повідомляти мене про нові коментарі ел. поштою.',
      notifyReplies: 'Повідомляти мене про відповіді на мій коментар ел. поштою.',
      notifyPosts: 'Повідомляти мене про нові публікації ел. поштою.',
      notifyAsked: 'Сповіщення: нова адреса спершу отримає лист для підтвердження.',
      feed: 'Стрічка коментарів (Atom)',
      report: 'Поскаржитися',
      reportWhy: 'Чому модераторам варто переглянути цей коментар?',
      reasons: { spam: 'Спам', abuse: 'Образливий', 'off-topic': 'Не за темою', other: 'Інше' },
      reportNote: 'Що їм варто знати (необов’язково)',
      send: 'Надіслати скаргу',
      reported: 'Дякуємо: модератори переглянуть його.',
      modEdited: 'змінено модератором',
      pinned: 'Закріплено',
      emailLogin: 'Увійти через ел. пошту',
      yourEmail: 'Ваша адреса ел. пошти',
      sendLink: 'Надіслати посилання',
      checkMail: 'Перевірте пошту: посилання для входу надіслано на {name}.',
      using: 'Ви коментуєте через обліковий запис {name}',
      usingEmail: 'Ви коментуєте з адреси ел. пошти {name}',
      logOut: 'Вийти',
      change: 'Змінити',
      loggedIn: 'Ви увійшли як {name}.',
      loggedOut: 'Ви вийшли.',
      loginClosed: 'Вікно входу закрито до завершення входу.',
      loginFailed: 'Не вдалося увійти ({name}). Спробуйте ще раз.',
      popupBlocked: 'Браузер заблокував вікно входу: дозвольте спливні вікна для цього сайту й спробуйте ще раз.',
      expired: 'Термін входу минув: увійдіть знову або заповніть свої дані.',
      verified: 'Підтверджений обліковий запис {name}',
    },
    de: {
      comments: { one: '{n} Kommentar', other: '{n} Kommentare' },
      likes: { one: 'Gefällt {n} Person', other: 'Gefällt {n} Personen' },
      firstLike: 'Sei der Erste, dem das gefällt',
      like: 'Gefällt mir',
      reply: 'Antworten',
      edit: 'Bearbeiten',
      del: 'Löschen',
      save: 'Speichern',
      cancel: 'Abbrechen',
      confirmDelete: 'Diesen Kommentar löschen?',
      yesDelete: 'Ja, löschen',
      edited: 'bearbeitet',
      deleted: 'Dieser Kommentar wurde gelöscht.',
      awaiting: 'Dein Kommentar wartet auf Freischaltung.',
      anonymous: 'Anonym',
      sort: 'Sortieren',
      oldest: 'Älteste zuerst',
      newest: 'Neueste zuerst',
      top: 'Beliebteste',
      loadMore: 'Weitere Kommentare laden',
      loading: 'Kommentare werden geladen…',
      loadFailed: 'Die Kommentare konnten nicht geladen werden.',
      unknownSite: 'Kommentare sind für diese Website nicht eingerichtet.',
      closed: 'Die Kommentarfunktion ist geschlossen.',
      leave: 'Schreibe einen Kommentar',
      replyTo: 'Antwort an {name}',
      cancelReply: 'Antworten abbrechen',
      comment: 'Kommentar',
      editComment: 'Kommentar bearbeiten',
      markdown: 'Markdown: *kursiv*, [Link](https://…), > Zitat, `Code`, - Liste',
      preview: 'Vorschau',
      write: 'Schreiben',
      nothing: 'Noch nichts für die Vorschau.',
      detailsLogin: 'Trage deine Daten unten ein oder klicke auf ein Symbol, um dich anzumelden:',
      details: 'Trage deine Daten unten ein:',
      name: 'Name',
      email: 'E-Mail (wird nie öffentlich angezeigt)',
      website: 'Website',
      required: '(Pflichtfeld)',
      remember: 'Meinen Namen, meine E-Mail-Adresse und Website in diesem Browser für meinen nächsten Kommentar speichern.',
      post: 'Kommentar abschicken',
      posting: 'Wird gesendet…',
      privacy: 'Wie deine Kommentardaten verarbeitet werden',
      quote: 'In Antwort zitieren',
      posted: 'Dein Kommentar wurde veröffentlicht.',
      held: 'Dein Kommentar wurde gesendet und wartet auf Freischaltung.',
      saved: 'Deine Änderungen wurden gespeichert.',
      removed: 'Dein Kommentar wurde gelöscht.',
      needBody: 'Bitte schreibe einen Kommentar.',
      needField: 'Dieses Feld ist auf dieser Website Pflicht.',
      offline: 'Der Kommentar-Server ist nicht erreichbar. Dein Text bleibt hier erhalten.',
      serverError: 'Der Kommentar-Server hatte ein Problem ({n}). Dein Text bleibt hier erhalten.',
      rateLimited: 'Du sendest zu schnell. Bitte warte einen Moment und versuche es dann erneut.',
      retry: 'Erneut versuchen',
      logIn: 'Mit {name} anmelden',
      connecting: 'Verbindung zu {name} wird hergestellt…',
      justNow: 'gerade eben',
      fresh: { one: '{n} neuer Kommentar', other: '{n} neue Kommentare' },
      show: 'anzeigen',
      notifyThread: 'Benachrichtige mich über neue Kommentare per E-Mail.',
      notifyReplies: 'Benachrichtige mich über Antworten auf meinen Kommentar per E-Mail.',
      notifyPosts: 'Benachrichtige mich über neue Beiträge per E-Mail.',
      notifyAsked: 'Benachrichtigungen: eine neue Adresse bekommt zuerst eine Mail zur Bestätigung.',
      feed: 'Kommentar-Feed (Atom)',
      report: 'Melden',
      reportWhy: 'Warum sollten die Moderatoren sich diesen Kommentar ansehen?',
      reasons: { spam: 'Spam', abuse: 'Beleidigend', 'off-topic': 'Themenfremd', other: 'Etwas anderes' },
      reportNote: 'Was sie wissen sollten (optional)',
      send: 'Meldung senden',
      reported: 'Danke: Die Moderatoren sehen ihn sich an.',
      modEdited: 'von einem Moderator bearbeitet',
      pinned: 'Angeheftet',
      emailLogin: 'Per E-Mail anmelden',
      yourEmail: 'Deine E-Mail-Adresse',
      sendLink: 'Link senden',
      checkMail: 'Schau in dein Postfach: Ein Link zum Anmelden ist an {name} unterwegs.',
      using: 'Du kommentierst mit deinem {name}-Konto',
      usingEmail: 'Du kommentierst mit deiner E-Mail-Adresse {name}',
      logOut: 'Abmelden',
      change: 'Ändern',
      loggedIn: 'Du bist als {name} angemeldet.',
      loggedOut: 'Du bist abgemeldet.',
      loginClosed: 'Das Anmeldefenster wurde vor der Anmeldung geschlossen.',
      loginFailed: 'Die Anmeldung hat nicht geklappt ({name}). Bitte versuche es erneut.',
      popupBlocked: 'Der Browser hat das Anmeldefenster blockiert: Erlaube Pop-ups für diese Website und versuche es erneut.',
      expired: 'Deine Anmeldung ist abgelaufen: Melde dich erneut an oder trage deine Daten ein.',
      verified: 'Bestätigtes {name}-Konto',
    },
  };

  /* ---------------------------------------------------------------- the widget object */

  const opt = script.dataset;
  const lang = pickLanguage(opt.lang || document.documentElement.lang);
  const W = {
    base: script.src.replace(/\/embed\.js(?:[?#].*)?$/, ''),
    origin: new URL(script.src).origin, // the only sender whose login messages count
    site: opt.site,
    url: opt.url || location.href.split('#')[0],
    title: opt.title || document.title,
    // What the article is about, for the spam filter's relevance signal: data-description, else the page's own.
    description: opt.description || (document.querySelector('meta[name="description"]') || {}).content || '',
    lang,
    strings: CATALOGUE[lang],
    plural: new Intl.PluralRules(lang),
    relative: new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }),
    exact: new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'short' }),
    sort: ['oldest', 'newest', 'top'].includes(opt.sort) ? opt.sort : 'oldest',
    limit: Math.min(Math.max(parseInt(opt.limit, 10) || 50, 1), 1000),
    key: 'rejoinder.' + opt.site + '.',
    comments: new Map(), // id -> {c: comment JSON, el: its <article>, depth}
    likes: new Set(),
    mine: {}, // id -> {t: edit token, u: editable until (ms), b: Markdown body, p: parent, url, c: held comment}
    reader: null, // a logged-in reader: {t: bearer token, x: expires (ms), i: identity, e: e-mail they typed}
    liked: new Set(), // what the logged-in reader likes in this thread, from the server (any device)
    owned: {}, // id -> {u: editable until (ms)}: the logged-in reader's comments in this thread
    login: null, // the login under way in a popup: {state, popup, poll}
    info: null, // GET /api/v1/form: form token, honeypot, challenge, site settings
    solving: null, // Promise of the proof-of-work payload
    replyTo: null,
    thread: null,
    cursor: null,
    loads: 0, // thread loads started: only the latest one's answer is shown (the sort changed meanwhile)
    busy: false,
    live: opt.live !== 'false',
    fresh: new Map(), // id -> comment by someone else, arrived live, not shown yet
    es: null, // the EventSource following the thread
    delay: 1e3, // before the next reconnect, doubled by each failure
    counted: 0, // counts heard from the stream: one heard during a post or delete already includes it
    els: {},
    f: {}, // the form's fields
  };

  function pickLanguage(tag) {
    const primary = String(tag || '').toLowerCase().split(/[-_]/)[0];
    return CATALOGUE[primary] ? primary : primary === 'ua' ? 'uk' : 'en';
  }

  function t(key, vars = {}) {
    let text = W.strings[key] ?? CATALOGUE.en[key];
    if (typeof text === 'object') text = text[W.plural.select(vars.n)] ?? text.other;
    return text.replace(/\{(\w+)\}/g, (_, name) =>
      typeof vars[name] === 'number' ? vars[name].toLocaleString(W.lang) : vars[name],
    );
  }

  /* ---------------------------------------------------------------- small tools */

  // Builds an element; attributes named on* become listeners, "text" becomes textContent.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (name === 'class') el.className = value;
      else if (name === 'text') el.textContent = value;
      else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : value);
    }
    el.append(...children.filter((child) => child != null && child !== false));
    return el;
  }

  // The only place HTML enters the page: comment bodies and previews, rendered and sanitised by the server.
  function setServerHTML(el, html) {
    el.innerHTML = html;
  }

  // Storage can be switched off or full; the widget then simply forgets.
  function load(key, area = 'localStorage') {
    try {
      return JSON.parse(window[area].getItem(W.key + key));
    } catch {
      return null;
    }
  }

  function keep(key, value, area = 'localStorage') {
    try {
      if (value == null) window[area].removeItem(W.key + key);
      else window[area].setItem(W.key + key, JSON.stringify(value));
    } catch {
      /* private mode or quota: nothing to do */
    }
  }

  async function api(method, path, body, headers = {}) {
    const init = { method, headers, credentials: 'omit' };
    if (body !== undefined) {
      init.headers = { ...headers, 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(W.base + '/api/v1/' + path, init);
    } catch {
      throw Object.assign(new Error('network'), { network: true, fields: {} });
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status === 401 && W.reader && headers.Authorization === 'Bearer ' + W.reader.t) forgetReader(t('expired'));
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw Object.assign(new Error(error.message || String(response.status)), {
        status: response.status,
        code: error.code,
        fields: error.fields || {},
        difficulty: error.difficulty || 0,
        challenge: error.challenge || null,
      });
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams({ site: W.site });
    for (const [name, value] of Object.entries(params)) {
      for (const v of [].concat(value)) if (v != null) q.append(name, v);
    }
    return q.toString();
  }

  function announce(message) {
    W.els.live.textContent = '';
    setTimeout(() => (W.els.live.textContent = message), 50);
  }

  function randomId() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function likerId() {
    let id = load('liker');
    if (!id) keep('liker', (id = randomId()));
    return id;
  }

  // The logged-in reader's token, for requests that act as them.
  function auth(token = W.reader && W.reader.t) {
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  /* ---------------------------------------------------------------- avatars and times */

  // A 5x5 mirrored identicon from an FNV-1a hash of the name: no request leaves the page.
  function avatar(name) {
    let hash = 2166136261;
    for (const ch of name) hash = Math.imul(hash ^ ch.codePointAt(0), 16777619) >>> 0;
    const bits = Math.imul(hash ^ (hash >>> 15), 2246822507) >>> 0;
    const svg = svgElement('svg', { class: 'rj-avatar', viewBox: '0 0 5 5', 'aria-hidden': 'true' });
    svg.append(svgElement('rect', { width: 5, height: 5, fill: `hsl(${hash % 360} 50% 88%)` }));
    for (let i = 0; i < 15; i++) {
      if (!((bits >>> i) & 1)) continue;
      const col = Math.floor(i / 5);
      const row = i % 5;
      for (const x of new Set([col, 4 - col])) {
        svg.append(svgElement('rect', { x, y: row, width: 1, height: 1, fill: `hsl(${hash % 360} 45% 42%)` }));
      }
    }
    return svg;
  }

  // The provider's picture only when the server sends one (the site enabled them), else the identicon.
  function picture(name, url) {
    return safeWebsite(url) ? h('img', { class: 'rj-avatar', src: url, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' }) : avatar(name);
  }

  function svgElement(tag, attrs) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    return el;
  }

  function ago(iso) {
    const seconds = (Date.parse(iso) - Date.now()) / 1000;
    const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return W.relative.format(Math.round(seconds / size), unit);
    }
    return t('justNow');
  }

  function timeElement(iso) {
    return h('time', { datetime: iso, title: W.exact.format(new Date(iso)), text: ago(iso) });
  }

  /* ---------------------------------------------------------------- the thread */

  function buildShell(container) {
    const E = W.els;
    E.count = h('h2', { class: 'rj-count', tabindex: -1 });
    E.sort = h(
      'select',
      // A logged-in reader's held comments from other devices come with the reader's state: asked again.
      { class: 'rj-select', onchange: () => ((W.sort = E.sort.value), loadThread().then((ok) => ok && W.reader && loadReader())) },
      ...['oldest', 'newest', 'top'].map((s) => h('option', { value: s, selected: s === W.sort, text: t(s) })),
    );
    E.fresh = h('button', { type: 'button', class: 'rj-button rj-fresh', hidden: true, onclick: showFresh });
    E.list = h('div', { class: 'rj-list' }, h('p', { class: 'rj-muted', text: t('loading') }));
    E.more = h('button', { type: 'button', class: 'rj-button rj-more', hidden: true, onclick: loadMore, text: t('loadMore') });
    E.home = h('div', { class: 'rj-home' });
    E.live = h('p', { class: 'rj-sr', 'aria-live': 'polite' });
    E.root = h(
      'div',
      { class: 'rj-root', lang: W.lang },
      h('div', { class: 'rj-bar' }, E.count, h('label', { class: 'rj-sort' }, t('sort') + ' ', E.sort)),
      h('div', { 'aria-live': 'polite' }, E.fresh),
      E.list,
      E.more,
      E.home,
      E.live,
    );
    container.replaceChildren(E.root);
  }

  async function loadThread() {
    W.cursor = null;
    W.els.more.hidden = true;
    const load = ++W.loads;
    try {
      const page = await api('GET', 'comments?' + query({ url: W.url, sort: W.sort, limit: W.limit }));
      if (load !== W.loads) return false; // a later load (another sort) is under way: its answer is shown
      const replyingTo = W.replyTo;
      if (replyingTo) cancelReply(false); // the form must not go away with the old list
      W.thread = page.thread;
      W.comments.clear();
      W.els.list.replaceChildren();
      showPage(page);
      await showOwnHeldComments();
      if (W.comments.has(replyingTo)) openReply(replyingTo, false);
      return true;
    } catch (error) {
      if (load !== W.loads) return false;
      if (!error.fields) setTimeout(() => { throw error; }); // a bug, not the server: let it be seen
      const message = error.code === 'unknown_site' ? t('unknownSite') : t('loadFailed');
      W.els.list.replaceChildren(
        h('p', { class: 'rj-alert', role: 'alert' }, message + ' ',
          error.code === 'unknown_site' ? null : h('button', { type: 'button', class: 'rj-link', onclick: start, text: t('retry') })),
      );
      return false;
    }
  }

  async function loadMore() {
    W.els.more.disabled = true;
    try {
      showPage(await api('GET', 'comments?' + query({ url: W.url, sort: W.sort, limit: W.limit, cursor: W.cursor })));
    } catch {
      announce(t('loadFailed'));
    } finally {
      W.els.more.disabled = false;
    }
  }

  function showPage(page) {
    for (const c of page.comments) addComment(c, null);
    W.cursor = page.next_cursor;
    W.els.more.hidden = !W.cursor;
    showCount();
  }

  function showCount() {
    W.els.count.textContent = t('comments', { n: W.thread.comment_count });
  }

  // Adds a comment (and its replies) under its parent's element, or at the top level.
  function addComment(c, parentEl, first = false) {
    if (W.comments.has(c.id)) return W.comments.get(c.id).el;
    const depth = parentEl ? W.comments.get(+parentEl.dataset.id).depth + 1 : 1;
    const el = renderComment(c);
    W.comments.set(c.id, { c, el, depth });
    const list = parentEl ? parentEl.querySelector(':scope > .rj-replies') : W.els.list;
    if (first) list.prepend(el);
    else list.append(el);
    for (const reply of c.replies || []) addComment(reply, el);
    return el;
  }

  function renderComment(c) {
    const el = h('article', { class: 'rj-comment', id: 'rj-comment-' + c.id, 'data-id': c.id, tabindex: -1 });
    el.append(h('div', { class: 'rj-main' }), h('div', { class: 'rj-replies' }));
    fillComment(el, c);
    return el;
  }

  // (Re)draws the comment itself, leaving its replies alone.
  function fillComment(el, c) {
    const main = el.firstChild;
    el.classList.toggle('rj-deleted', c.status === 'deleted');
    el.classList.toggle('rj-held', c.status === 'pending' || c.status === 'spam');
    if (c.status === 'deleted') {
      main.replaceChildren(h('p', { class: 'rj-muted rj-placeholder', text: t('deleted') }));
      return;
    }
    const name = c.author.name || t('anonymous');
    const website = safeWebsite(c.author.website);
    const body = h('div', { class: 'rj-body' });
    setServerHTML(body, c.html);
    main.replaceChildren(
      picture(name, c.verified && c.verified.avatar_url),
      h('div', { class: 'rj-content' },
        h('header', { class: 'rj-meta' },
          website
            ? h('a', { class: 'rj-author', href: website, rel: 'nofollow ugc', text: name })
            : h('span', { class: 'rj-author', text: name }),
          c.verified && badge(c.verified),
          h('a', { class: 'rj-time', href: '#rj-comment-' + c.id }, timeElement(c.created_at)),
          c.edited_at && h('span', { class: 'rj-muted', title: W.exact.format(new Date(c.edited_at)), text: t(c.edited_by_moderator ? 'modEdited' : 'edited') }),
          c.pinned && h('span', { class: 'rj-muted rj-pinned', text: t('pinned') }),
        ),
        body,
        el.classList.contains('rj-held') && h('p', { class: 'rj-notice', text: t('awaiting') }),
        actions(c),
      ),
    );
  }

  function safeWebsite(url) {
    return /^https?:\/\//i.test(url || '') ? url : null;
  }

  // "✓ GitHub": the comment was written by a reader logged in there; links to their profile if known.
  function badge(v) {
    const label = t('verified', { name: v.provider_name });
    const href = safeWebsite(v.profile_url);
    // A link carries its label; a plain span needs a role for screen readers to read one.
    return h(href ? 'a' : 'span', { class: 'rj-verified', href, rel: href && 'nofollow ugc', role: !href && 'img', title: label, 'aria-label': label },
      h('span', { 'aria-hidden': 'true', text: '✓ ' + v.provider_name }));
  }

  function actions(c) {
    const row = h('div', { class: 'rj-actions' });
    if (c.status === 'published') {
      const liked = likeSet().has(c.id);
      const count = h('span', { class: 'rj-likes', text: likeText(c.likes) });
      const button = h('button', { type: 'button', class: 'rj-like', 'aria-pressed': String(liked), text: t('like') });
      button.addEventListener('click', () => toggleLike(c, button, count));
      row.append(button, count);
      if (W.thread && !W.thread.closed) {
        row.append(h('button', { type: 'button', class: 'rj-link rj-reply', onclick: () => openReply(c.id), text: t('reply') }));
      }
      if (!ownOf(c.id)) row.append(h('button', { type: 'button', class: 'rj-link rj-report', onclick: () => startReport(c.id), text: t('report') }));
    }
    const own = ownOf(c.id);
    if (own && own.u > Date.now() && c.status !== 'spam') {
      row.append(
        h('button', { type: 'button', class: 'rj-link rj-edit', onclick: () => startEdit(c.id), text: t('edit') }),
        h('button', { type: 'button', class: 'rj-link rj-delete', onclick: () => confirmDelete(c.id), text: t('del') }),
      );
      // Take the buttons away when the edit window closes (timers longer than ~24 days overflow).
      setTimeout(() => redraw(c.id), Math.min(own.u - Date.now() + 500, 2 ** 31 - 1));
    }
    return row;
  }

  // An element of the comment itself, never of its replies.
  function part(el, selector) {
    return el.firstChild.querySelector(selector);
  }

  function redraw(id) {
    const entry = W.comments.get(id);
    if (entry && !part(entry.el, '.rj-editor, .rj-confirm')) fillComment(entry.el, entry.c);
  }

  // A logged-in reader's likes follow them across devices (the server keeps them); a guest's stay here.
  function likeSet() {
    return W.reader ? W.liked : W.likes;
  }

  function likeText(n) {
    return n > 0 ? t('likes', { n }) : t('firstLike');
  }

  async function toggleLike(c, button, count) {
    if (button.dataset.busy) return;
    button.dataset.busy = '1';
    const set = likeSet();
    const liked = !set.has(c.id);
    const show = (likes, on) => {
      c.likes = likes;
      button.setAttribute('aria-pressed', String(on));
      count.textContent = likeText(likes);
      if (on) set.add(c.id);
      else set.delete(c.id);
      if (set === W.likes) keep('likes', [...W.likes].slice(-2000));
    };
    const before = c.likes;
    show(before + (liked ? 1 : -1), liked); // at once; the server's answer corrects the count
    try {
      const answer = await api(liked ? 'PUT' : 'DELETE', `comments/${c.id}/like`, undefined, { 'X-Rejoinder-Liker': likerId(), ...auth() });
      show(answer.likes, answer.liked);
      announce(count.textContent);
    } catch (error) {
      show(before, !liked);
      announce(error.network ? t('offline') : ruleText(error.message));
    } finally {
      delete button.dataset.busy;
    }
  }

  /* ---------------------------------------------------------------- the author's own comments */

  // Own comments: posted from this browser (with their edit tokens), or the logged-in reader's from any device.
  function ownOf(id) {
    return W.mine[id] || W.owned[id];
  }

  function ownerAuth(own) {
    return auth(own.t || (W.reader && W.reader.t));
  }

  function saveMine() {
    const now = Date.now();
    for (const [id, own] of Object.entries(W.mine)) {
      // Held comments stay for 30 days so a reload still shows them; the rest only while editable.
      if ((own.c ? own.u + 30 * 86400e3 : own.u) < now) delete W.mine[id];
    }
    keep('mine', W.mine);
  }

  // Held comments are not in the public thread: show the author's own from this browser, refreshed if
  // the server can tell (GET /comments/{id} with the edit token), and placed under their parent.
  async function showOwnHeldComments() {
    const held = Object.entries(W.mine).filter(([id, own]) => own.c && own.url === W.url && !W.comments.has(+id));
    await Promise.all(
      held.map(async ([id, own]) => {
        try {
          own.c = (await api('GET', 'comments/' + id, undefined, { Authorization: 'Bearer ' + own.t })).comment;
        } catch (error) {
          if (error.status === 404 && error.code === 'comment_not_found') own.c = null;
        }
        if (!own.c || own.c.status === 'deleted') return delete W.mine[id];
        if (own.c.status === 'published') own.c = null; // it is public now, nothing to keep
        else insertNew({ ...own.c, replies: [] }, own.p);
      }),
    );
    saveMine();
  }

  function insertNew(c, parentId) {
    let parent = parentId ? W.comments.get(parentId) : null;
    // Past the site's depth the server lists a reply beside its parent; show it where a reload would.
    if (parent && parent.depth >= maxDepth()) parent = W.comments.get(+parent.el.parentElement.closest('.rj-comment')?.dataset.id) || null;
    return addComment(c, parent ? parent.el : null, !parent && W.sort === 'newest');
  }

  function maxDepth() {
    return (W.info && W.info.site && W.info.site.max_depth) || 5;
  }

  function startEdit(id) {
    const { el, c } = W.comments.get(id);
    const own = ownOf(id);
    const body = part(el, '.rj-body');
    const field = h('textarea', { class: 'rj-input', id: 'rj-edit-' + id, rows: 5, 'aria-describedby': 'rj-edit-error-' + id });
    field.value = own.b ?? body.innerText.trim();
    if (own.b === undefined) {
      // Written on another device: its Markdown comes from the server, unless the reader typed already.
      const shown = field.value;
      api('GET', 'comments/' + id, undefined, ownerAuth(own)).then(
        (answer) => { if (field.value === shown) field.value = own.b = answer.source; },
        () => {},
      );
    }
    const error = h('p', { class: 'rj-error', id: 'rj-edit-error-' + id, hidden: true });
    const close = () => {
      editor.remove();
      body.hidden = false;
      part(el, '.rj-actions').hidden = false;
      part(el, '.rj-edit')?.focus();
    };
    const editor = h(
      'form',
      {
        class: 'rj-editor',
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            const answer = await api('PATCH', 'comments/' + id, { body: field.value }, ownerAuth(own));
            Object.assign(c, answer.comment, { replies: [] });
            own.b = field.value;
            if (own.c) own.c = c;
            saveMine();
            fillComment(el, c);
            part(el, '.rj-edit')?.focus();
            announce(t('saved'));
          } catch (failure) {
            showFieldError(field, error, failure.network ? t('offline') : ruleText(failure.fields.body || failure.message));
          }
        },
      },
      h('label', { for: field.id, class: 'rj-label', text: t('editComment') }),
      field,
      error,
      h('div', { class: 'rj-row' },
        h('button', { type: 'submit', class: 'rj-button', text: t('save') }),
        h('button', { type: 'button', class: 'rj-link', onclick: close, text: t('cancel') }),
      ),
    );
    body.hidden = true;
    part(el, '.rj-actions').hidden = true;
    body.after(editor);
    field.focus();
  }

  // Reporting: a reason and an optional note, sent to the moderators; the form closes with a thank-you.
  function startReport(id) {
    const { el } = W.comments.get(id);
    const row = part(el, '.rj-actions');
    const reason = h('select', { class: 'rj-input', id: 'rj-report-' + id },
      ...Object.entries(W.strings.reasons ?? CATALOGUE.en.reasons).map(([value, text]) => h('option', { value, text })));
    const note = h('textarea', { class: 'rj-input', id: 'rj-report-note-' + id, rows: 2, maxlength: 1000 });
    const error = h('p', { class: 'rj-error', hidden: true });
    const close = (message) => {
      box.remove();
      row.hidden = false;
      part(el, '.rj-report')?.focus();
      if (message) announce(message);
    };
    const box = h('form', {
        class: 'rj-editor rj-report-form',
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await api('POST', `comments/${id}/report`, { reason: reason.value, text: note.value });
            close(t('reported'));
          } catch (failure) {
            error.hidden = false;
            error.textContent = failure.network ? t('offline') : ruleText(failure.message);
          }
        },
      },
      h('label', { for: reason.id, class: 'rj-label', text: t('reportWhy') }),
      reason,
      h('label', { for: note.id, class: 'rj-label', text: t('reportNote') }),
      note,
      error,
      h('div', { class: 'rj-row' },
        h('button', { type: 'submit', class: 'rj-button', text: t('send') }),
        h('button', { type: 'button', class: 'rj-link', onclick: () => close(), text: t('cancel') }),
      ),
    );
    row.hidden = true;
    row.after(box);
    reason.focus();
  }

  function confirmDelete(id) {
    const { el } = W.comments.get(id);
    const row = part(el, '.rj-actions');
    const keepIt = () => {
      box.remove();
      row.hidden = false;
      part(el, '.rj-delete')?.focus();
    };
    const box = h('div', { class: 'rj-confirm', role: 'group', 'aria-label': t('confirmDelete') },
      h('span', { text: t('confirmDelete') + ' ' }),
      h('button', { type: 'button', class: 'rj-button rj-danger', onclick: () => remove(id), text: t('yesDelete') }),
      h('button', { type: 'button', class: 'rj-link', onclick: keepIt, text: t('cancel') }),
    );
    row.hidden = true;
    row.after(box);
    box.querySelector('button').focus();
  }

  async function remove(id) {
    const entry = W.comments.get(id);
    const heard = W.counted;
    try {
      await api('DELETE', 'comments/' + id, undefined, ownerAuth(ownOf(id)));
    } catch (error) {
      part(entry.el, '.rj-confirm span').textContent = error.network ? t('offline') : ruleText(error.message) + ' ';
      return;
    }
    // A count from the stream while the request ran is the server's own (or one just before it, and ours
    // follows): adjusting it again here would count the deletion twice.
    if (entry.c.status === 'published' && W.counted === heard) W.thread.comment_count--;
    delete W.mine[id];
    delete W.owned[id];
    saveMine();
    showCount();
    drop(id, entry);
    (W.comments.has(id) ? entry.el : W.els.count).focus();
    announce(t('removed'));
  }

  // Takes a comment off the thread; a placeholder stays if replies hang below it.
  function drop(id, entry) {
    if (W.replyTo === id) cancelReply();
    if (entry.el.querySelector(':scope > .rj-replies').children.length) {
      entry.c.status = 'deleted';
      fillComment(entry.el, entry.c);
    } else {
      entry.el.remove();
      W.comments.delete(id);
    }
  }

  /* ---------------------------------------------------------------- live updates */

  // Follows the thread over Server-Sent Events: comments by others wait behind a notice, likes, edits and
  // counts change in place. Reconnects with backoff, then reloads the first page for what it missed.
  function follow() {
    if (!W.live || W.es || !W.els.root.isConnected) return;
    const es = (W.es = new EventSource(W.base + '/api/v1/threads/events?' + query({ url: W.url })));
    const on = (name, handle) => es.addEventListener(name, (event) => handle(JSON.parse(event.data)));
    es.onopen = () => {
      W.els.root.dataset.live = 'open'; // for the page's own styles and scripts (and tests)
      if (W.missed) catchUp();
      W.missed = false;
      W.delay = 1e3;
    };
    es.onerror = () => {
      unfollow();
      W.missed = true;
      W.retry = setTimeout(follow, W.delay * (1 + Math.random()));
      W.delay = Math.min(W.delay * 2, 60e3);
    };
    on('comment', arrived);
    on('update', changed);
    on('count', (d) => {
      W.counted++;
      setCount(d.comment_count);
    });
  }

  function unfollow() {
    delete W.els.root.dataset.live;
    clearTimeout(W.retry);
    if (W.es) W.es.close();
    W.es = null;
  }

  function arrived(c) {
    if (W.comments.has(c.id)) return changed({ id: c.id, comment: c }); // ours, or approved again
    W.fresh.set(c.id, c);
    noticeFresh();
  }

  // A thread page leaves these out of a comment while they hold their defaults: a comment from a page
  // (catching up after a reconnect) that is merged into the one shown must reset them, not keep old values.
  const PAGE_DEFAULTS = { edited_by_moderator: false, pinned: false, verified: null };

  function changed(d) {
    const c = d.comment;
    if (W.fresh.has(d.id)) {
      if (d.gone || c.status !== 'published') W.fresh.delete(d.id);
      else W.fresh.set(d.id, c);
      noticeFresh();
    }
    const entry = W.comments.get(d.id);
    const own = W.mine[d.id];
    if (!entry || (d.gone && own)) return; // authors keep seeing their own held comment
    if (d.gone || c.status === 'deleted') return drop(d.id, entry);
    if (own && own.c && c.status === 'published') {
      own.c = null; // approved: public now
      saveMine();
    }
    const old = entry.c;
    if (c.html !== old.html || c.edited_at !== old.edited_at || c.status !== old.status) {
      Object.assign(old, PAGE_DEFAULTS, c, { replies: [] });
      return redraw(d.id);
    }
    old.likes = c.likes; // in place: the like button keeps its focus
    const likes = part(entry.el, '.rj-likes');
    if (likes) likes.textContent = likeText(c.likes);
  }

  function setCount(n) {
    W.thread.comment_count = n;
    showCount();
    const here = (url) => {
      try {
        return new URL(url, location.href).href.split('#')[0] === new URL(W.url, location.href).href.split('#')[0];
      } catch {
        return false;
      }
    };
    for (const el of document.querySelectorAll('[data-rejoinder-count]')) {
      if (here(el.dataset.rejoinderCount || el.href)) el.textContent = t('comments', { n });
    }
  }

  // Only comments that can be placed count: top-level ones, and replies to a comment on screen.
  function placeable() {
    return [...W.fresh.values()]
      .sort((a, b) => a.id - b.id)
      .filter((c) => !c.parent_id || W.comments.has(c.parent_id) || W.fresh.has(c.parent_id));
  }

  function noticeFresh() {
    if (W.busy) return; // the reader's own comment may be among them: wait for the POST's answer
    const n = placeable().length;
    W.els.fresh.hidden = !n;
    W.els.fresh.textContent = n ? t('fresh', { n }) + ' — ' + t('show') : '';
  }

  function showFresh() {
    const shown = placeable().map((c) => {
      const el = insertNew({ ...c, replies: [] }, c.parent_id);
      el.classList.add('rj-new');
      return el;
    });
    W.fresh.clear();
    noticeFresh();
    if (shown[0]) {
      shown[0].focus({ preventScroll: true });
      shown[0].scrollIntoView({ block: 'nearest' });
    }
  }

  async function catchUp() {
    try {
      const page = await api('GET', 'comments?' + query({ url: W.url, sort: W.sort, limit: W.limit }));
      const walk = (list) => list.forEach((c) => (arrived(c), walk(c.replies)));
      walk(page.comments);
      setCount(page.thread.comment_count);
    } catch {
      /* the next reconnect tries again */
    }
  }

  // Live updates stop when the widget leaves the page, and pause while the page sits in the back/forward cache.
  function startLive() {
    if (!W.live || W.watch) return;
    W.watch = new MutationObserver(() => W.els.root.isConnected || (unfollow(), W.watch.disconnect()));
    W.watch.observe(document.body, { childList: true, subtree: true });
    addEventListener('pagehide', unfollow);
    addEventListener('pageshow', (event) => event.persisted && ((W.missed = true), follow()));
    follow();
  }

  /* ---------------------------------------------------------------- the form */

  function buildForm() {
    const F = W.f;
    const field = (name, label, input, extra) => {
      input.id = 'rj-f-' + name;
      input.classList.add('rj-input');
      input.setAttribute('aria-describedby', ['rj-f-' + name + '-error', extra && extra.id].filter(Boolean).join(' '));
      input.addEventListener('input', () => clearFieldError(name));
      F[name] = input;
      F[name + 'Label'] = h('label', { for: input.id, class: 'rj-label', text: label });
      F[name + 'Error'] = h('p', { class: 'rj-error', id: 'rj-f-' + name + '-error', hidden: true });
      return h('div', { class: 'rj-field rj-field-' + name }, F[name + 'Label'], input, extra, F[name + 'Error']);
    };
    F.heading = h('h3', { class: 'rj-heading', id: 'rj-respond-heading', text: t('leave') });
    F.cancel = h('button', { type: 'button', class: 'rj-link rj-cancel', hidden: true, onclick: () => cancelReply(), text: t('cancelReply') });
    F.previewButton = h('button', { type: 'button', class: 'rj-link rj-preview-toggle', 'aria-pressed': 'false', onclick: togglePreview, text: t('preview') });
    F.preview = h('div', { class: 'rj-preview rj-body', hidden: true, 'aria-live': 'polite' });
    F.hint = h('p', { class: 'rj-muted rj-hint', text: t('details') });
    F.providers = h('div', { class: 'rj-providers', hidden: true });
    F.mail = mailLogin();
    F.connecting = h('p', { class: 'rj-connecting', hidden: true });
    F.who = h('div', { class: 'rj-who', hidden: true });
    F.remember = h('input', { type: 'checkbox', id: 'rj-f-remember' });
    F.honeypot = h('input', { type: 'text', tabindex: -1, autocomplete: 'off' });
    F.submit = h('button', { type: 'submit', class: 'rj-button rj-submit', text: t('post') });
    F.status = h('p', { class: 'rj-status', 'aria-live': 'polite' });
    F.retry = h('button', { type: 'button', class: 'rj-link rj-retry', hidden: true, onclick: () => submit(), text: t('retry') });
    F.privacy = h('a', { class: 'rj-privacy', hidden: true, text: t('privacy') });
    F.notify = h('div', { class: 'rj-notify', hidden: true });
    const feed = W.base + '/feeds/' + encodeURIComponent(W.site) + '/thread.atom?url=' + encodeURIComponent(W.url);
    const help = h('p', { class: 'rj-muted rj-help', id: 'rj-f-body-help', text: t('markdown') });
    const body = h('textarea', { rows: 6, required: true });
    F.form = h(
      'form',
      { class: 'rj-form', novalidate: true, onsubmit: (event) => (event.preventDefault(), submit()), oninput: saveDraft },
      field('body', t('comment'), body, help),
      h('div', { class: 'rj-row rj-tools' }, F.previewButton),
      F.preview,
      F.hint,
      F.providers,
      F.mail,
      F.connecting,
      F.who,
      (F.details = h('div', { class: 'rj-details' },
        field('name', t('name'), h('input', { type: 'text', autocomplete: 'name', maxlength: 100 })),
        field('email', t('email'), h('input', { type: 'email', autocomplete: 'email' })),
        field('website', t('website'), h('input', { type: 'url', autocomplete: 'url', placeholder: 'https://' })),
        h('p', { class: 'rj-check' }, F.remember, h('label', { for: 'rj-f-remember', text: t('remember') })),
      )),
      h('div', { class: 'rj-trap', 'aria-hidden': 'true' }, F.honeypot),
      F.notify,
      h('div', { class: 'rj-row' }, F.submit, F.status, F.retry),
      F.privacy,
      h('a', { class: 'rj-feed', href: feed, type: 'application/atom+xml', text: t('feed') }),
    );
    F.remember.addEventListener('change', () => !F.remember.checked && keep('author', null));
    F.section = h('section', { class: 'rj-respond', id: 'rj-respond', 'aria-labelledby': F.heading.id },
      h('div', { class: 'rj-row rj-respond-head' }, F.heading, F.cancel),
      F.form,
    );
    W.els.home.append(F.section);
    restoreDetails();
    applySiteInfo();
  }

  function applySiteInfo() {
    const F = W.f;
    const site = (W.info && W.info.site) || {};
    F.honeypot.name = (W.info && W.info.honeypot) || 'url2';
    // The owner's own page when set, else the one the server generates from the site's settings.
    const generated = W.base + '/privacy/' + encodeURIComponent(W.site) + '?lang=' + W.lang;
    const privacy = site.privacy_url || opt.privacyUrl || generated;
    F.privacy.hidden = false;
    F.privacy.href = privacy;
    for (const name of ['name', 'email']) {
      F[name + 'Label'].textContent = t(name) + (site.require_name_email ? ' ' + t('required') : '');
      F[name].required = !!site.require_name_email;
    }
    // Notification boxes: only the kinds the server offers (none when it sends no mail).
    const kinds = site.notify || [];
    F.notify.replaceChildren(
      ...kinds.map((kind) => {
        const box = h('input', { type: 'checkbox', id: 'rj-f-notify-' + kind, value: kind });
        const name = 'notify' + kind[0].toUpperCase() + kind.slice(1);
        return h('p', { class: 'rj-check' }, box, h('label', { for: box.id, text: t(name) }));
      }),
    );
    // Login: the providers the server reports as configured, and e-mail when it can send mail.
    const choices = (site.providers || []).map((p) => providerButton(t('logIn', { name: p.name }), p.preset || p.id, p.name, () => loginWith(p)));
    if (site.email_login) choices.push(providerButton(t('emailLogin'), 'email', '@', toggleMailLogin));
    F.providers.replaceChildren(...choices);
    showReader();
  }

  // The spam fields: a single-use form token, the honeypot's name and, maybe, a proof-of-work challenge.
  // `difficulty`: the proof-of-work level a post was refused for (a doubtful comment, a busy address).
  function loadForm(difficulty) {
    W.formReady = fetchForm(difficulty);
    return W.formReady;
  }

  async function fetchForm(difficulty) {
    try {
      W.info = await api('GET', 'form?' + query({ url: W.url, difficulty: difficulty || null }));
    } catch (error) {
      W.info = null; // no form endpoint (an older server) or no network: post without the spam fields
      W.formMissing = error.status === 404 && error.code !== 'unknown_site';
    }
    W.solving = W.info && W.info.challenge ? solve(W.info.challenge) : null;
    if (W.f.form) applySiteInfo();
  }

  // Replying moves the one form under the comment; cancelling moves it back.
  function openReply(id, focus = true) {
    const { el, c } = W.comments.get(id);
    W.replyTo = id;
    el.querySelector(':scope > .rj-main').after(W.f.section);
    W.f.heading.textContent = t('replyTo', { name: c.author.name || t('anonymous') });
    W.f.cancel.hidden = false;
    if (focus) W.f.body.focus();
    saveDraft();
  }

  function cancelReply(focus = true) {
    const id = W.replyTo;
    W.replyTo = null;
    W.els.home.append(W.f.section);
    W.f.heading.textContent = t('leave');
    W.f.cancel.hidden = true;
    saveDraft();
    const entry = W.comments.get(id);
    if (focus && entry) part(entry.el, '.rj-reply')?.focus();
  }

  async function togglePreview() {
    const F = W.f;
    const showing = F.preview.hidden;
    F.previewButton.setAttribute('aria-pressed', String(showing));
    F.previewButton.textContent = t(showing ? 'write' : 'preview');
    F.body.hidden = showing;
    F.preview.hidden = !showing;
    if (!showing) return F.body.focus();
    if (!F.body.value.trim()) return (F.preview.textContent = t('nothing'));
    try {
      setServerHTML(F.preview, (await api('POST', 'preview', { body: F.body.value })).html);
    } catch (error) {
      F.preview.textContent = error.network ? t('offline') : ruleText(error.fields.body || error.message);
    }
  }

  function details() {
    return { name: W.f.name.value.trim(), email: W.f.email.value.trim(), website: W.f.website.value.trim() };
  }

  function restoreDetails() {
    const remembered = load('author');
    const typed = remembered || load('details', 'sessionStorage') || {};
    for (const name of ['name', 'email', 'website']) W.f[name].value = typed[name] || '';
    W.f.remember.checked = !!remembered;
  }

  // Keeps what the reader typed through a reload: the text in localStorage, the details (unless they
  // asked to remember them) only in sessionStorage, which ends with the tab.
  function saveDraft() {
    const body = W.f.body.value;
    keep('draft:' + W.url, body.trim() ? { b: body, p: W.replyTo } : null);
    keep('details', details(), 'sessionStorage');
  }

  function restoreDraft() {
    const draft = load('draft:' + W.url);
    if (!draft) return;
    W.f.body.value = draft.b;
    if (draft.p && W.comments.has(draft.p) && W.comments.get(draft.p).c.status === 'published') {
      openReply(draft.p, false);
    }
  }

  function clearErrors() {
    for (const name of ['body', 'name', 'email', 'website']) clearFieldError(name);
    W.f.status.textContent = '';
    W.f.status.classList.remove('rj-alert');
    W.f.retry.hidden = true;
  }

  function clearFieldError(name) {
    W.f[name].removeAttribute('aria-invalid');
    W.f[name + 'Error'].hidden = true;
  }

  function showFieldError(input, error, message) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    error.hidden = false;
  }

  function ruleText(rule) {
    return String(rule).charAt(0).toUpperCase() + String(rule).slice(1);
  }

  function status(message, retry, alert = true) {
    W.f.status.textContent = message;
    W.f.status.classList.toggle('rj-alert', alert);
    W.f.retry.hidden = !retry;
  }

  const FORM_FIELDS = { body: 'body', 'author.name': 'name', 'author.email': 'email', 'author.website': 'website' };

  function showError(error) {
    const F = W.f;
    if (error.network) return status(t('offline'), true);
    if (error.status === 429) return status(t('rateLimited'), true);
    if (error.status === 401 && 'Authorization' in error.fields) return status(t('expired'));
    if (error.status >= 500 || !error.status) return status(t('serverError', { n: error.status }), true);
    let first = null;
    const other = [];
    for (const [name, rule] of Object.entries(error.fields)) {
      const mine = FORM_FIELDS[name];
      if (mine) {
        showFieldError(F[mine], F[mine + 'Error'], ruleText(rule));
        first = first || F[mine];
      } else other.push(`${name}: ${rule}`);
    }
    if (error.code === 'thread_closed') status(t('closed'));
    else if (other.length || !first) status(ruleText(error.message) + (other.length ? ' (' + other.join('; ') + ')' : ''));
    if (first) {
      if (first === F.body && F.body.hidden) togglePreview();
      first.focus();
    }
  }

  async function submit() {
    const F = W.f;
    if (W.busy) return;
    clearErrors();
    if (!F.body.value.trim()) {
      showFieldError(F.body, F.bodyError, t('needBody'));
      if (F.body.hidden) togglePreview();
      return F.body.focus();
    }
    // A logged-in reader's name comes from their identity: the server ignores the details then.
    const author = W.reader ? {} : details();
    if (author.website && !/^[a-z][a-z0-9+.-]*:/i.test(author.website)) {
      F.website.value = author.website = 'https://' + author.website; // "blog.example" means https
    }
    if (!W.reader && W.info && W.info.site && W.info.site.require_name_email) {
      const missing = ['name', 'email'].filter((name) => !author[name]);
      missing.forEach((name) => showFieldError(F[name], F[name + 'Error'], t('needField')));
      if (missing.length) return F[missing[0]].focus();
    }
    // Notifications go to the address typed, or to the one the reader's provider verified.
    const notify = F.notify.hidden ? [] : [...F.notify.querySelectorAll('input:checked')].map((box) => box.value);
    if (notify.length && !W.reader && !author.email) {
      showFieldError(F.email, F.emailError, t('needField'));
      return F.email.focus();
    }
    const payload = { site: W.site, url: W.url, title: W.title, description: W.description.slice(0, 1000), parent_id: W.replyTo, body: F.body.value, author, notify };
    W.busy = true;
    F.submit.textContent = t('posting');
    F.submit.setAttribute('aria-disabled', 'true');
    F.form.setAttribute('aria-busy', 'true');
    let answer;
    const heard = W.counted;
    try {
      answer = await send(payload, true);
    } catch (error) {
      return showError(error);
    } finally {
      W.busy = false;
      noticeFresh();
      F.submit.textContent = t('post');
      F.submit.removeAttribute('aria-disabled');
      F.form.removeAttribute('aria-busy');
    }
    posted(answer, payload, W.counted !== heard); // outside the try: the comment is stored, whatever happens here
  }

  // Posts with the spam fields; a spent token or an unsolved challenge is renewed and retried once.
  async function send(payload, mayRetry) {
    await W.formReady; // a token being renewed after the last post
    if (!W.info && !W.formMissing) await loadForm();
    const full = { ...payload };
    if (W.info) {
      full.form_token = W.info.form_token;
      full.honeypot = W.f.honeypot.value;
      if (W.solving) full.altcha = await W.solving;
    }
    try {
      return await api('POST', 'comments', full, auth());
    } catch (error) {
      const spent = error.code === 'challenge_required' || 'altcha' in error.fields || 'form_token' in error.fields;
      if (!mayRetry || !spent || !error.status) throw error;
      if (error.challenge && W.info && !('form_token' in error.fields)) {
        // The refusal carries the challenge, and the form token it left unused (older, so not too quick).
        W.solving = solve(error.challenge);
      } else {
        await loadForm(error.difficulty);
      }
      return send(payload, false);
    }
  }

  function posted(answer, payload, counted) {
    const F = W.f;
    const c = { ...answer.comment, replies: [] };
    const held = c.status !== 'published';
    W.mine[c.id] = { t: answer.edit_token, u: Date.parse(answer.edit_until), b: payload.body, p: payload.parent_id, url: W.url, c: held ? c : null };
    saveMine();
    if (!W.reader) keep('author', F.remember.checked ? details() : null);
    // Already told by the stream (it can beat the POST's answer): then the count came with it.
    if (!W.fresh.delete(c.id) && !held && !counted) W.thread.comment_count++;
    noticeFresh();
    showCount();
    F.body.value = '';
    if (!F.preview.hidden) togglePreview();
    if (W.replyTo) cancelReply();
    saveDraft();
    const el = insertNew(c, payload.parent_id);
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: 'nearest' });
    status(t(held ? 'held' : 'posted') + (payload.notify.length ? ' ' + t('notifyAsked') : ''), false, false);
    for (const box of F.notify.querySelectorAll('input')) box.checked = false;
    loadForm(); // tokens are single-use: get the next one now
  }

  /* ---------------------------------------------------------------- readers' identity */

  // A reader logs in at a provider in a popup on the Rejoinder server, which hands a one-time code to this
  // page by postMessage (an e-mail link brings it in #rejoinder-login=CODE); the code becomes a bearer
  // token kept in this site's localStorage. No cookie of the Rejoinder server is used, so a browser that
  // blocks third-party cookies logs in all the same.

  // Each provider's colours and a mark drawn here (a letter, or a path on a 24×24 grid): nothing is fetched.
  const MARKS = {
    wordpress: ['#21759b', 'W'],
    google: ['#ffffff', 'G', '#4285f4'],
    x: ['#000000', 'M7.5 6.5l9 11m0-11l-9 11'],
    facebook: ['#1877f2', 'f'],
    github: ['#24292f', 'M7 13l.4-6 2.8 2h3.6l2.8-2 .4 6a5 4 0 0 1-10 0zm3 5.5v-2m4 2v-2'],
    email: ['#5f6b7a', 'M6 8h12v8.5H6zm0 0l6 5 6-5'],
  };

  function providerButton(label, kind, name, onclick) {
    const [bg, mark, fg = '#ffffff'] = MARKS[kind] || ['#5f6b7a', name.slice(0, 1).toUpperCase()];
    const svg = svgElement('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true' });
    svg.append(svgElement('circle', { cx: 12, cy: 12, r: 11.5, fill: bg, stroke: '#8884' }));
    if (mark.length > 1) svg.append(svgElement('path', { d: mark, fill: 'none', stroke: fg, 'stroke-width': 1.8, 'stroke-linejoin': 'round' }));
    else {
      const letter = svgElement('text', { x: 12, y: 17, 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 700, 'font-family': 'Arial, sans-serif', fill: fg });
      letter.textContent = mark;
      svg.append(letter);
    }
    return h('button', { type: 'button', class: 'rj-provider', 'data-provider': kind, 'aria-label': label, title: label, onclick }, svg);
  }

  function readerKey() {
    return 'reader:' + W.base; // one login per Rejoinder server and site
  }

  // Opened within the click itself: browsers block a popup opened after an await.
  function loginWith(p) {
    if (W.login) W.login.cancelled = true;
    stopLogin();
    const state = randomId();
    const url = p.login_url + (p.login_url.includes('?') ? '&' : '?') + new URLSearchParams({ origin: location.origin, state });
    const [width, height] = [520, 640];
    const place = `left=${screenX + (outerWidth - width) / 2},top=${screenY + (outerHeight - height) / 2}`;
    const popup = window.open(url, 'rejoinder-login', `popup,width=${width},height=${height},${place}`);
    if (!popup) return loginNote(t('popupBlocked'));
    const login = (W.login = { state, popup, until: Date.now() + 6e5 });
    // A popup that looks closed sends nothing. A provider's page with Cross-Origin-Opener-Policy cuts it
    // off from this page while the reader is still logging in there: so ask the server, every 2 s while
    // the log-in can finish (10 minutes), for the code of the log-in this page started (by its state).
    login.poll = setInterval(() => {
      if (!popup.closed) return;
      clearInterval(login.poll);
      login.cut = true;
      login.poll = setInterval(() => claimLogin(login), 2000);
    }, 400);
    loginNote(t('connecting', { name: p.name }), true);
  }

  async function claimLogin(login) {
    if (login.asking) return;
    if (Date.now() > login.until) return stopLogin(), loginNote(t('loginClosed'));
    login.asking = true;
    try {
      const answer = await api('POST', 'reader/session', { site: W.site, state: login.state });
      // Also when a message from the popup came meanwhile: this claim used the code up first.
      if (!login.cancelled && (W.login === login || !W.login)) stopLogin(), loggedIn(answer);
    } catch {
      // 401: not finished yet (or the reader closed the popup: Cancel or the time limit ends it).
    }
    login.asking = false;
  }

  function stopLogin() {
    if (W.login) clearInterval(W.login.poll);
    W.login = null;
  }

  function cancelLogin() {
    const cut = W.login?.cut;
    if (W.login) W.login.cancelled = true;
    W.login?.popup.close();
    stopLogin();
    loginNote(cut ? t('loginClosed') : null);
    W.f.providers.querySelector('button')?.focus();
  }

  function loginNote(message, cancellable) {
    const F = W.f;
    if (message) announce(message);
    if (!F.form) return;
    F.connecting.hidden = !message;
    F.connecting.replaceChildren(message || '', cancellable ? h('button', { type: 'button', class: 'rj-link', onclick: cancelLogin, text: t('cancel') }) : '');
  }

  // Only the popup this page opened, showing the Rejoinder server, answering the login under way.
  function loginMessage(event) {
    const login = W.login;
    const d = event.data;
    if (!login || event.origin !== W.origin || event.source !== login.popup) return;
    if (!d || d.type !== 'rejoinder:login' || d.state !== login.state) return;
    stopLogin();
    if (d.code) exchange(d.code);
    else loginNote(t('loginFailed', { name: String(d.error) }));
  }

  async function exchange(code) {
    loginNote(null);
    try {
      await loggedIn(await api('POST', 'reader/session', { site: W.site, code }));
    } catch (error) {
      loginNote(error.network ? t('offline') : t('loginFailed', { name: ruleText((error.fields || {}).code || error.message) }));
    }
  }

  async function loggedIn(answer) {
    W.reader = { t: answer.token, x: Date.parse(answer.expires_at), i: answer.identity, e: load('mailto') };
    keep('mailto', null);
    keep(readerKey(), W.reader);
    announce(t('loggedIn', { name: answer.identity.name }));
    await loadReader();
  }

  // Who the token belongs to, with their likes and comments in this thread (a 401 forgets it: see api).
  async function loadReader() {
    if (W.reader && !(W.reader.x > Date.now())) forgetReader();
    if (W.reader) {
      try {
        const answer = await api('GET', 'reader?' + query({ url: W.url }), undefined, auth());
        W.reader.i = answer.identity;
        keep(readerKey(), W.reader);
        W.liked = new Set(answer.liked);
        W.owned = Object.fromEntries(answer.mine.map((m) => [m.id, { u: Date.parse(m.edit_until) }]));
        // Their held comments, posted on another device: shown to them only, as on the device they used.
        await Promise.all(
          answer.mine.filter((m) => !W.comments.has(m.id)).map(async (m) => {
            const { comment: c } = await api('GET', 'comments/' + m.id, undefined, auth());
            if (c.status !== 'deleted' && !W.comments.has(c.id)) insertNew({ ...c, replies: [] }, c.parent_id);
          }),
        );
      } catch {
        /* offline: what was known stays until the next load */
      }
    }
    showReader();
    redrawAll();
  }

  function forgetReader(message) {
    W.reader = null;
    W.liked = new Set();
    W.owned = {};
    keep(readerKey(), null);
    showReader();
    redrawAll();
    if (message) announce(message);
  }

  // Likes and own comments differ between a guest and a logged-in reader.
  function redrawAll() {
    W.comments.forEach((_, id) => redraw(id));
  }

  // Log Out revokes the token on the server; the browser forgets it even when the server cannot be reached.
  async function logOut(change) {
    const token = W.reader.t;
    await api('DELETE', 'reader/session', undefined, auth(token)).catch(() => null);
    forgetReader(t('loggedOut'));
    if (change) W.f.providers.querySelector('button')?.focus();
  }

  // Logged in: who, instead of the details; a guest: the details and the ways to log in.
  function showReader() {
    const F = W.f;
    if (!F.form) return;
    const site = (W.info && W.info.site) || {};
    const who = W.reader && W.reader.i;
    const choices = F.providers.children.length;
    F.hint.textContent = t(choices ? 'detailsLogin' : 'details');
    F.hint.hidden = F.details.hidden = !!who;
    F.providers.hidden = !!who || !choices;
    F.notify.hidden = (who && !who.email_verified) || !F.notify.children.length;
    F.who.hidden = !who;
    if (who) F.mail.hidden = F.connecting.hidden = true;
    if (!who) return F.who.replaceChildren();
    const address = W.reader.e || who.name || '';
    const using = who.provider === 'email'
      ? t('usingEmail', { name: address.replace(/^(.)[^@]*@/, '$1…@') })
      : t('using', { name: who.provider_name });
    F.who.replaceChildren(
      picture(who.name || '', site.avatars && who.avatar_url),
      h('p', {},
        h('strong', { class: 'rj-author', text: who.name || t('anonymous') }),
        using + ' (',
        h('button', { type: 'button', class: 'rj-link rj-logout', onclick: () => logOut(false), text: t('logOut') }),
        ' / ',
        h('button', { type: 'button', class: 'rj-link rj-change', onclick: () => logOut(true), text: t('change') }),
        ')',
      ),
    );
  }

  // "Log in by e-mail": the address, then a link by mail that comes back to this page logged in.
  function mailLogin() {
    const input = h('input', { type: 'email', id: 'rj-f-mail-login', class: 'rj-input', autocomplete: 'email' });
    const note = h('p', { class: 'rj-mail-note', 'aria-live': 'polite' });
    const send = async () => {
      const email = input.value.trim();
      if (!email) return input.focus();
      try {
        await api('POST', 'reader/email', { site: W.site, email, return_url: location.href.split('#')[0] });
        keep('mailto', email); // to say which address the reader logged in with, once they come back
        note.textContent = t('checkMail', { name: email });
      } catch (error) {
        const rule = error.fields && (error.fields.email || error.fields.return_url);
        note.textContent = error.network ? t('offline') : error.status === 429 ? t('rateLimited') : ruleText(rule || error.message);
      }
    };
    input.addEventListener('keydown', (event) => event.key === 'Enter' && (event.preventDefault(), send()));
    return h('div', { class: 'rj-mail-login', hidden: true },
      h('label', { for: input.id, class: 'rj-label', text: t('yourEmail') }),
      h('div', { class: 'rj-row' }, input, h('button', { type: 'button', class: 'rj-button', onclick: send, text: t('sendLink') })),
      note,
    );
  }

  function toggleMailLogin() {
    const box = W.f.mail;
    box.hidden = !box.hidden;
    if (!box.hidden) box.querySelector('input').focus();
  }

  // The e-mail link comes back to the page with #rejoinder-login=CODE: off the address bar at once.
  function codeFromLink() {
    const found = /^#rejoinder-login=([^&]+)/.exec(location.hash);
    if (found) history.replaceState(history.state, '', location.pathname + location.search);
    return found && decodeURIComponent(found[1]);
  }

  /* ---------------------------------------------------------------- quoting */

  // Selecting text in the article or in a comment offers "Quote in reply".
  function watchSelections() {
    const button = h('button', { type: 'button', class: 'rj-quote', hidden: true, text: t('quote') });
    button.addEventListener('mousedown', (event) => event.preventDefault()); // keep the selection
    button.addEventListener('click', () => insertQuote(button));
    W.els.quote = button;
    document.body.append(button);
    const check = () => setTimeout(() => offerQuote(button), 0);
    document.addEventListener('mouseup', check);
    document.addEventListener('keyup', (event) => event.key !== 'Tab' && event.key !== 'Enter' && check());
  }

  function offerQuote(button) {
    const selection = getSelection();
    const text = selection.toString().trim();
    const node = selection.anchorNode;
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    if (!text || !el || el.closest('.rj-quote, .rj-respond, input, textarea, [contenteditable]')) {
      if (document.activeElement !== button) button.hidden = true;
      return;
    }
    if (W.els.root.contains(el) && !el.closest('.rj-body')) return (button.hidden = true);
    const comment = el.closest('.rj-comment');
    W.quoting = { text, id: comment ? +comment.dataset.id : null };
    const rect = selection.getRangeAt(0).getBoundingClientRect();
    button.style.top = rect.bottom + scrollY + 6 + 'px';
    button.style.left = Math.max(rect.left + scrollX, 4) + 'px';
    button.hidden = false;
  }

  function insertQuote(button) {
    const { text, id } = W.quoting;
    button.hidden = true;
    if (!W.f.form) return;
    const target = W.comments.get(id);
    if (target && target.c.status === 'published' && W.replyTo !== id) openReply(id);
    const F = W.f;
    if (F.body.hidden) togglePreview();
    const quoted = text.split(/\r?\n/).map((line) => '> ' + line).join('\n') + '\n\n';
    const at = F.body.selectionStart ?? F.body.value.length;
    const before = F.body.value.slice(0, at);
    const gap = before && !before.endsWith('\n\n') ? (before.endsWith('\n') ? '\n' : '\n\n') : '';
    F.body.value = before + gap + quoted + F.body.value.slice(at);
    F.body.focus();
    F.body.selectionStart = F.body.selectionEnd = (before + gap + quoted).length;
    getSelection().removeAllRanges();
    saveDraft();
  }

  /* ---------------------------------------------------------------- proof of work (ALTCHA v1) */

  // Finds n in 0..maxnumber with hex(digest(salt + n)) == challenge. Self-contained: its source text
  // also runs in a Worker built from a Blob (a Worker cannot load a cross-origin script).
  // SHA-256, what servers ask for, is computed here (FIPS 180-4): one synchronous hash costs far less than
  // an awaited crypto.subtle.digest, and it works on plain-http pages, which have no crypto.subtle.
  async function findNumber({ algorithm, challenge, salt, maxnumber }) {
    const prefix = new TextEncoder().encode(salt);
    if (algorithm !== 'SHA-256') {
      const want = challenge.toLowerCase();
      for (let start = 0; start <= maxnumber; start += 256) {
        const batch = [];
        for (let n = start; n < start + 256 && n <= maxnumber; n++) {
          batch.push(crypto.subtle.digest(algorithm, new TextEncoder().encode(salt + n)));
        }
        const hex = (await Promise.all(batch)).map((d) => Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join(''));
        const found = hex.indexOf(want);
        if (found >= 0) return start + found;
      }
      return null;
    }
    // Round constants and initial hash: fractional parts of the cube and square roots of the first primes.
    const primes = [];
    for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
    const fraction = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
    const K = new Int32Array(primes.map((p) => fraction(Math.cbrt(p))));
    const H = primes.slice(0, 8).map((p) => fraction(Math.sqrt(p)) | 0);
    const want = challenge.match(/.{8}/g).map((word) => parseInt(word, 16) | 0);
    const bytes = new Uint8Array(prefix.length + 16);
    bytes.set(prefix);
    const words = new Int32Array((((bytes.length + 8) >> 6) + 1) * 16);
    const m = new Int32Array(64);
    const rotate = (x, n) => (x >>> n) | (x << (32 - n));
    const matches = (length) => {
      const blocks = ((length + 8) >> 6) + 1;
      words.fill(0);
      for (let i = 0; i < length; i++) words[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
      words[length >> 2] |= 0x80 << (24 - (length & 3) * 8);
      words[blocks * 16 - 1] = length * 8;
      let [h0, h1, h2, h3, h4, h5, h6, h7] = H;
      for (let block = 0; block < blocks * 16; block += 16) {
        for (let i = 0; i < 16; i++) m[i] = words[block + i];
        for (let i = 16; i < 64; i++) {
          const x = m[i - 15];
          const y = m[i - 2];
          m[i] = ((rotate(x, 7) ^ rotate(x, 18) ^ (x >>> 3)) + m[i - 16] + (rotate(y, 17) ^ rotate(y, 19) ^ (y >>> 10)) + m[i - 7]) | 0;
        }
        let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, k = h7;
        for (let i = 0; i < 64; i++) {
          const t1 = (k + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + m[i]) | 0;
          const t2 = ((rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
          k = g;
          g = f;
          f = e;
          e = (d + t1) | 0;
          d = c;
          c = b;
          b = a;
          a = (t1 + t2) | 0;
        }
        h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
        h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + k) | 0;
      }
      return h0 === want[0] && h1 === want[1] && h2 === want[2] && h3 === want[3] &&
        h4 === want[4] && h5 === want[5] && h6 === want[6] && h7 === want[7];
    };
    for (let n = 0; n <= maxnumber; n++) {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) bytes[prefix.length + i] = digits.charCodeAt(i);
      if (matches(prefix.length + digits.length)) return n;
      if (n % 25000 === 24999) await new Promise((resolve) => setTimeout(resolve)); // let the page breathe
    }
    return null;
  }

  async function solve(challenge) {
    let number = null;
    try {
      number = await new Promise((resolve, reject) => {
        const source = findNumber.toString() + '\nonmessage = async (e) => postMessage(await findNumber(e.data));';
        const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
        const worker = new Worker(url);
        URL.revokeObjectURL(url);
        worker.onmessage = (event) => (worker.terminate(), resolve(event.data));
        worker.onerror = (event) => (event.preventDefault(), worker.terminate(), reject(event));
        worker.postMessage(challenge);
      });
    } catch {
      // A page whose Content-Security-Policy forbids blob: workers: solve here, it is only slower.
      number = await findNumber(challenge).catch(() => null);
    }
    if (number == null) return null;
    const { algorithm, salt, signature } = challenge;
    return btoa(JSON.stringify({ algorithm, challenge: challenge.challenge, number, salt, signature }));
  }

  /* ---------------------------------------------------------------- counts for index pages */

  // Every [data-rejoinder-count] element shows its page's count: one request for the whole page.
  async function fillCounts() {
    const links = [...document.querySelectorAll('[data-rejoinder-count]')];
    const urlOf = (el) => el.dataset.rejoinderCount || el.href;
    const urls = [...new Set(links.map(urlOf).filter(Boolean))];
    for (let i = 0; i < urls.length; i += 200) {
      try {
        const { counts } = await api('GET', 'counts?' + query({ url: urls.slice(i, i + 200) }));
        for (const el of links) {
          if (urlOf(el) in counts) el.textContent = t('comments', { n: counts[urlOf(el)] });
        }
      } catch {
        /* counts are decoration: leave the links as they are */
      }
    }
  }

  /* ---------------------------------------------------------------- theme and start-up */

  function applyTheme() {
    const dark = opt.theme === 'dark' || (opt.theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
    for (const el of [W.els.root, W.els.quote]) el && el.classList.toggle('rj-dark', dark);
  }

  function loadStyles() {
    if (opt.css === 'off' || document.querySelector('link[data-rejoinder]')) return Promise.resolve();
    return new Promise((resolve) => {
      const link = h('link', { rel: 'stylesheet', href: W.base + '/embed.css', 'data-rejoinder': true });
      link.onload = link.onerror = resolve;
      setTimeout(resolve, 3000); // never wait long for looks
      document.head.append(link);
    });
  }

  async function start() {
    const container = document.querySelector(opt.target || '#rejoinder-thread');
    if (!container) return;
    const styles = loadStyles();
    if (!W.els.root) {
      W.likes = new Set(load('likes') || []);
      W.mine = load('mine') || {};
      W.reader = load(readerKey());
      W.code = codeFromLink();
      addEventListener('message', loginMessage);
      // Logged in or out in another tab (an e-mail link opens one): the same here.
      addEventListener('storage', (event) => event.key === W.key + readerKey() && ((W.reader = load(readerKey())) ? loadReader() : forgetReader()));
      buildShell(container);
      applyTheme();
      matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
      setInterval(() => W.els.root.querySelectorAll('time').forEach((el) => (el.textContent = ago(el.dateTime))), 60e3);
    }
    const form = loadForm();
    const [loaded] = await Promise.all([loadThread(), styles]);
    if (!loaded) return;
    startLive();
    if (W.code) exchange(W.code);
    else loadReader();
    W.code = null;
    if (W.thread.closed) return W.els.home.replaceChildren(h('p', { class: 'rj-muted', text: t('closed') }));
    if (!W.f.form) {
      buildForm();
      restoreDraft();
      if (opt.quote !== 'off') watchSelections();
      applyTheme();
      // The browser looked for #rj-comment-N before the thread was there.
      if (/^#rj-comment-\d+$/.test(location.hash)) document.getElementById(location.hash.slice(1))?.scrollIntoView();
    }
    await form;
  }

  function init() {
    fillCounts();
    start();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
