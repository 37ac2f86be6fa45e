/* The dashboard's behaviour: moderation actions (one, bulk, from the keyboard) with undo, editing a
   comment, the forms of the settings, bans, lists and account pages, and an import's progress. The pages
   are rendered on the server; this script only sends what the moderator does to the JSON API (with the
   session's CSRF token) and updates the page with the answer. Plain JavaScript, no build step, no inline
   code (strict CSP). */
(() => {
  'use strict';

  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || '';
  const D = {
    csrf: meta('csrf-token'),
    texts: JSON.parse(meta('dashboard-texts') || '{}'),
    undo: [], // the actions this page can take back, last one last: {token, nodes, reload}
    current: null, // the comment the keys act on
    keys: {},
  };
  const UNDO_KEY = 'rejoinder-dashboard-undo'; // the last action's undo token, kept across pages of a tab
  const FLASH_KEY = 'rejoinder-dashboard-flash'; // a message to show once the page has reloaded

  function t(key, vars = {}) {
    const text = D.texts[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
  }

  /* ---------------------------------------------------------------- talking to the API */

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (D.csrf) headers['X-CSRF-Token'] = D.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      return { ok: false, status: 0, data: null, message: t('offline') };
    }
    if (response.status === 401) {
      location.assign(`/dashboard/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    const error = data && data.error;
    return {
      ok: response.ok,
      status: response.status,
      data,
      message: error ? error.message : response.ok ? '' : `HTTP ${response.status}`,
      fields: (error && error.fields) || {},
    };
  }

  /* ---------------------------------------------------------------- messages */

  function toast(text, undoable = false) {
    const box = document.getElementById('toast');
    if (!box) return;
    box.replaceChildren();
    const words = document.createElement('span');
    words.textContent = text;
    box.append(words);
    if (undoable) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = `${t('undo')} (u)`;
      button.addEventListener('click', undo);
      box.append(button);
    }
    clearTimeout(D.toastTimer);
    D.toastTimer = setTimeout(() => box.replaceChildren(), undoable ? 10000 : 5000);
  }

  function flashAfterReload(text) {
    sessionStorage.setItem(FLASH_KEY, text);
    location.reload();
  }

  function showFlash() {
    const text = sessionStorage.getItem(FLASH_KEY);
    if (text) {
      sessionStorage.removeItem(FLASH_KEY);
      toast(text);
    }
  }

  /* ---------------------------------------------------------------- the queue */

  const items = () => [...document.querySelectorAll('#items .item')];
  const picked = () => items().filter((item) => item.querySelector('.pick').checked);

  function makeCurrent(item, focus = true) {
    if (D.current) D.current.classList.remove('current');
    D.current = item || null;
    if (!item) return;
    item.classList.add('current');
    if (focus) {
      item.focus();
      item.scrollIntoView({ block: 'nearest' });
    }
  }

  function move(step) {
    const all = items();
    if (!all.length) return;
    const at = all.indexOf(D.current);
    const focused = D.current && D.current.contains(document.activeElement);
    const next = at < 0 ? 0 : !focused ? at : Math.min(Math.max(at + step, 0), all.length - 1);
    makeCurrent(all[next]);
  }

  function countPicked() {
    const count = document.getElementById('selected-count');
    const n = picked().length;
    if (count) count.textContent = t('selected', { n });
    for (const item of items()) item.classList.toggle('picked', item.querySelector('.pick').checked);
    const all = document.getElementById('select-page');
    if (all) all.checked = n > 0 && n === items().length;
  }

  function stays(action, queue) {
    // Which comments an action leaves in the queue being looked at.
    return action === 'pin' || action === 'unpin' || (queue === 'published' && action === 'approve');
  }

  function label(action) {
    const button = document.querySelector(`[data-bulk="${action}"], [data-action="${action}"]`);
    return button ? button.textContent : action;
  }

  async function act(action, target, chosen) {
    const queue = document.getElementById('items')?.dataset.queue;
    chosen.forEach((item) => item.classList.add('leaving'));
    const answer = await api('POST', '/api/v1/moderation/actions', { action, ...target });
    chosen.forEach((item) => item.classList.remove('leaving'));
    if (!answer.ok) {
      toast(answer.status ? t('failed', { message: answer.message }) : answer.message);
      return;
    }
    const done = new Set((answer.data.done || []).map(String));
    if (action === 'pin' || action === 'unpin') {
      chosen.filter((item) => done.has(item.dataset.id)).forEach((item) => showPinned(item, action === 'pin'));
    }
    const gone = stays(action, queue) ? [] : chosen.filter((item) => done.has(item.dataset.id));
    const all = items();
    const after = all.find((item, i) => i > all.indexOf(D.current) && !gone.includes(item));
    const before = [...all].reverse().find((item) => !gone.includes(item));
    const nodes = gone.map((item) => {
      const li = item.parentElement;
      const entry = { li, next: li.nextElementSibling, list: li.parentElement };
      li.remove();
      return entry;
    });
    if (gone.includes(D.current) || !D.current) makeCurrent(after || before, document.activeElement === document.body || gone.length > 0);
    if (answer.data.undo) {
      D.undo.push({ token: answer.data.undo, nodes, reload: 'filter' in target || stays(action, queue) });
      sessionStorage.setItem(UNDO_KEY, answer.data.undo);
    }
    countPicked();
    queueCleared();
    toast(t('done', { action: label(action), n: done.size }), Boolean(answer.data.undo));
  }

  function showPinned(item, pinned) {
    // The same button now does the opposite; the badge says which it is.
    const button = item.querySelector('[data-toggle]');
    button.dataset.action = pinned ? 'unpin' : 'pin';
    button.textContent = t(pinned ? 'unpin' : 'pin');
    item.querySelector('.badge.pinned')?.remove();
    if (pinned) {
      const badge = document.createElement('span');
      badge.className = 'badge pinned';
      badge.textContent = t('pinned');
      item.querySelector('header').append(badge);
    }
  }

  function queueCleared() {
    const cleared = document.getElementById('queue-cleared');
    if (cleared) cleared.hidden = items().length > 0 || Boolean(document.getElementById('items-empty'));
  }

  async function undo() {
    const last = D.undo.pop() || (sessionStorage.getItem(UNDO_KEY) && { token: sessionStorage.getItem(UNDO_KEY), nodes: [], reload: true });
    if (!last) {
      toast(t('nothing_to_undo'));
      return;
    }
    const answer = await api('POST', '/api/v1/moderation/undo', { undo: last.token });
    if (!answer.ok) {
      toast(t('failed', { message: answer.message }));
      return;
    }
    if (sessionStorage.getItem(UNDO_KEY) === last.token) sessionStorage.removeItem(UNDO_KEY);
    if (last.reload) {
      flashAfterReload(t('undone'));
      return;
    }
    // Put the comments back where they were (in reverse, so each one's next sibling is back first).
    for (const { li, next, list } of [...last.nodes].reverse()) {
      list.insertBefore(li, next && next.parentElement === list ? next : null);
    }
    if (last.nodes.length) makeCurrent(last.nodes[0].li.querySelector('.item'));
    queueCleared();
    toast(t('undone'));
  }

  function actOnCurrent(key) {
    const action = D.keys[key];
    if (!action || !D.current) return;
    act(action, { ids: [Number(D.current.dataset.id)] }, [D.current]);
  }

  function confirmAll(action) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-text').textContent = t('confirm_all', { action: label(action) });
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    });
  }

  async function bulk(action) {
    const scope = document.querySelector('input[name="scope"]:checked')?.value;
    if (scope === 'all') {
      if (!(await confirmAll(action))) return;
      const filter = JSON.parse(document.querySelector('.bulk').dataset.filter || '{}');
      await act(action, { filter }, items());
      return;
    }
    const chosen = picked();
    if (!chosen.length) {
      toast(t('selected', { n: 0 }));
      return;
    }
    await act(action, { ids: chosen.map((item) => Number(item.dataset.id)) }, chosen);
  }

  async function edit(item) {
    if (item.querySelector('.editor')) return;
    const answer = await api('GET', `/api/v1/moderation/comments/${item.dataset.id}`);
    if (!answer.ok) {
      toast(t('failed', { message: answer.message }));
      return;
    }
    const source = answer.data.comment || answer.data;
    const body = item.querySelector(`#c-${item.dataset.id}-body`);
    const form = document.createElement('form');
    form.className = 'editor';
    const labelled = document.createElement('label');
    labelled.textContent = t('body');
    const area = document.createElement('textarea');
    area.value = source.body ?? '';
    labelled.append(area);
    const error = document.createElement('p');
    error.className = 'form-error';
    error.id = `c-${item.dataset.id}-edit-error`;
    area.setAttribute('aria-describedby', error.id);
    const row = document.createElement('div');
    row.className = 'row';
    const save = document.createElement('button');
    save.type = 'submit';
    save.textContent = t('save');
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.textContent = t('cancel');
    row.append(save, cancel);
    form.append(labelled, error, row);
    body.hidden = true;
    body.after(form);
    area.focus();
    const close = () => {
      form.remove();
      body.hidden = false;
      makeCurrent(item);
    };
    cancel.addEventListener('click', close);
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      save.disabled = true;
      const saved = await api('PATCH', `/api/v1/moderation/comments/${item.dataset.id}`, { body: area.value });
      save.disabled = false;
      if (!saved.ok) {
        error.textContent = saved.fields.body ? `${t('body')}: ${saved.fields.body}` : saved.message;
        area.setAttribute('aria-invalid', 'true');
        return;
      }
      const fresh = saved.data.comment || saved.data;
      // The server renders and sanitises comment HTML; it is the only HTML this script inserts.
      body.innerHTML = fresh.html;
      if (!item.querySelector('.badge.edited')) {
        const badge = document.createElement('span');
        badge.className = 'badge edited';
        badge.textContent = t('edited_by_moderator');
        item.querySelector('header').append(badge);
      }
      close();
      toast(t('saved'));
    });
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest('input, textarea, select, [contenteditable]')) return;
    const key = event.key;
    const help = document.getElementById('keys');
    if (key === '?') {
      if (help.open) help.close();
      else help.showModal();
    } else if (document.querySelector('dialog[open]')) return;
    else if (key === 'j') move(1);
    else if (key === 'k') move(-1);
    else if (key === 'u') undo();
    else if (key === 'x' && D.current) {
      const box = D.current.querySelector('.pick');
      box.checked = !box.checked;
      countPicked();
    } else if (key === 'e' && D.current) {
      edit(D.current);
    } else if (key in D.keys) {
      actOnCurrent(key);
    } else return;
    event.preventDefault();
  }

  function initQueue() {
    const list = document.getElementById('items');
    if (!document.querySelector('.bulk')) return;
    D.keys = JSON.parse(list?.dataset.keys || '{}');
    if (list) {
      makeCurrent(items()[0], false);
      list.addEventListener('click', (event) => {
        const item = event.target.closest('.item');
        if (!item) return;
        const button = event.target.closest('button');
        if (button && button.dataset.action) {
          makeCurrent(item, false);
          act(button.dataset.action, { ids: [Number(item.dataset.id)] }, [item]);
        } else if (button && 'edit' in button.dataset) {
          makeCurrent(item, false);
          edit(item);
        } else if (event.target.classList.contains('pick')) {
          countPicked();
        } else if (!event.target.closest('a, button, input, textarea, form')) {
          makeCurrent(item);
        }
      });
    }
    document.getElementById('select-page')?.addEventListener('change', (event) => {
      for (const item of items()) item.querySelector('.pick').checked = event.target.checked;
      countPicked();
    });
    for (const button of document.querySelectorAll('[data-bulk]')) {
      button.addEventListener('click', () => bulk(button.dataset.bulk));
    }
    document.getElementById('show-keys')?.addEventListener('click', () => document.getElementById('keys').showModal());
    document.addEventListener('keydown', onKey);
  }

  /* ---------------------------------------------------------------- forms of the other pages */

  function showErrors(form, fields, message) {
    for (const old of form.querySelectorAll('.error')) old.textContent = '';
    for (const old of form.querySelectorAll('[aria-invalid]')) old.removeAttribute('aria-invalid');
    let first = null;
    for (const [name, rule] of Object.entries(fields || {})) {
      const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      if (slot) slot.textContent = rule;
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      }
    }
    const general = form.querySelector('.form-error');
    if (general) general.textContent = first ? '' : message;
    if (first) first.focus();
  }

  function valueOf(input) {
    const kind = input.dataset.type;
    if (input.type === 'checkbox') return input.checked;
    // A whole number is not rounded here: 3.5 for an integer is refused by the server with its rule.
    if (kind === 'integer' || kind === 'number') return input.value === '' ? null : Number(input.value);
    if (kind === 'list') return input.value.split('\n').map((line) => line.trim()).filter(Boolean);
    return input.value;
  }

  function initSettings() {
    const form = document.getElementById('settings-form');
    if (!form) return;
    const initial = new Map([...form.querySelectorAll('[data-setting]')].map((input) => [input, JSON.stringify(valueOf(input))]));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const changed = {};
      for (const [input, before] of initial) {
        const now = valueOf(input);
        if (JSON.stringify(now) !== before) changed[input.name] = now;
      }
      const path = `/api/v1/moderation/sites/${encodeURIComponent(form.dataset.site)}/settings`;
      const answer = await api('PATCH', path, { settings: changed });
      if (!answer.ok) {
        showErrors(form, answer.fields, answer.message);
        return;
      }
      showErrors(form, {}, '');
      for (const input of initial.keys()) initial.set(input, JSON.stringify(valueOf(input)));
      toast(t('saved'));
    });
  }

  function initBans() {
    const form = document.getElementById('ban-form');
    if (form) {
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const days = Number(data.get('days'));
        const ban = {
          site: data.get('site'),
          kind: data.get('kind'),
          value: String(data.get('value') || '').trim(),
          reason: String(data.get('reason') || ''),
          expires_at: days ? new Date(Date.now() + days * 864e5).toISOString() : null,
          mark_held_as_spam: data.get('mark_held_as_spam') === 'on',
        };
        const answer = await api('POST', '/api/v1/moderation/bans', ban);
        if (!answer.ok) {
          showErrors(form, answer.fields, answer.message);
          return;
        }
        const marked = answer.data.marked_as_spam ?? answer.data.marked ?? 0;
        flashAfterReload(t('ban_created', { n: Array.isArray(marked) ? marked.length : marked }));
      });
    }
    for (const button of document.querySelectorAll('[data-lift]')) {
      button.addEventListener('click', async () => {
        const answer = await api('DELETE', `/api/v1/moderation/bans/${button.dataset.lift}`);
        if (!answer.ok) {
          toast(t('failed', { message: answer.message }));
          return;
        }
        button.closest('tr').remove();
        toast(t('revoked'));
      });
    }
  }

  function initLists() {
    for (const form of document.querySelectorAll('form[data-list]')) {
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const entries = valueOf(form.querySelector('textarea'));
        const path = `/api/v1/moderation/lists/${form.dataset.list}?site=${encodeURIComponent(form.dataset.site)}`;
        const answer = await api('PUT', path, { entries });
        if (!answer.ok) {
          showErrors(form, answer.fields, answer.message);
          return;
        }
        showErrors(form, {}, '');
        toast(t('saved'));
      });
    }
  }

  function revocable(button) {
    button.addEventListener('click', async () => {
      const answer = await api('DELETE', button.dataset.revoke);
      if (!answer.ok) {
        toast(t('failed', { message: answer.message }));
        return;
      }
      if ('current' in button.dataset) {
        location.assign('/dashboard/login');
        return;
      }
      button.closest('tr').remove();
      toast(t('revoked'));
    });
  }

  function tokenRow(token) {
    const row = document.createElement('tr');
    const created = `${new Date(token.created_at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const cells = [token.label || String(token.id), created, String(token.calls ?? 0)];
    for (const text of cells) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    row.children[2].className = 'num';
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.revoke = `/api/v1/me/tokens/${token.id}`;
    button.textContent = t('revoke');
    button.setAttribute('aria-label', `${t('revoke')}: ${cells[0]}`);
    revocable(button);
    const last = document.createElement('td');
    last.append(button);
    row.append(last);
    return row;
  }

  function initAccount() {
    document.querySelectorAll('[data-revoke]').forEach(revocable);
    const form = document.getElementById('token-form');
    if (!form) return;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const tokenLabel = form.querySelector('[name="label"]').value.trim();
      const answer = await api('POST', '/api/v1/me/tokens', { label: tokenLabel });
      if (!answer.ok) {
        showErrors(form, answer.fields, answer.message);
        return;
      }
      showErrors(form, {}, '');
      document.querySelector('#tokens tbody').append(tokenRow(answer.data));
      document.getElementById('no-tokens').hidden = true;
      const shown = document.getElementById('new-token');
      shown.hidden = false;
      shown.querySelector('.secret').textContent = answer.data.token;
      shown.querySelector('.secret').focus();
    });
  }

  function initCopy() {
    for (const button of document.querySelectorAll('[data-copy]')) {
      button.addEventListener('click', async () => {
        const source = document.querySelector(button.dataset.copy);
        const text = source.textContent;
        try {
          await navigator.clipboard.writeText(text);
        } catch (_) {
          const range = document.createRange();
          range.selectNodeContents(source);
          getSelection().removeAllRanges();
          getSelection().addRange(range);
          document.execCommand('copy');
        }
        toast(t('copied'));
      });
    }
  }

  /* ---------------------------------------------------------------- an import's progress */

  const IMPORT_POLL_MS = 1000;

  /* While an upload is read or imported (by a job), its status is asked for once a second: the bar
     and count follow the import, and the page is loaded again when the status changes (report, done). */
  function initImport() {
    const section = document.getElementById('import-state');
    if (!section) return;
    const status = section.dataset.status;
    if (status !== 'checking' && status !== 'importing') return;
    const bar = document.getElementById('import-bar');
    const count = document.getElementById('import-count');
    const poll = async () => {
      const answer = await api('GET', `/dashboard/import/${encodeURIComponent(section.dataset.import)}/status`);
      if (answer.ok && answer.data) {
        if (answer.data.status !== status) {
          location.reload();
          return;
        }
        if (bar && answer.data.total) {
          bar.max = answer.data.total;
          bar.value = answer.data.done;
        }
        if (count && answer.data.total) {
          count.textContent = t('import_progress', { done: answer.data.done, total: answer.data.total });
        }
      }
      setTimeout(poll, IMPORT_POLL_MS);
    };
    setTimeout(poll, IMPORT_POLL_MS);
  }

  function init() {
    showFlash();
    initQueue();
    initSettings();
    initBans();
    initLists();
    initAccount();
    initCopy();
    initImport();
    // The page's buttons come disabled: pressed before this point they would do nothing, and a form
    // would go to the server as a plain GET, its values in the address and the action lost.
    for (const control of document.querySelectorAll('[data-scripted]')) control.disabled = false;
    document.documentElement.dataset.ready = 'true'; // the keys work from here on
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
