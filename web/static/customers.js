// Customers: search and cursor-paged table (GET /api/v1/customers).
'use strict';
(() => {
  const { api, el, clear, showError, health, tag, row } = AIMA;
  const form = document.getElementById('search-form');
  const input = document.getElementById('q');
  const tbody = document.querySelector('#customer-table tbody');
  const empty = document.getElementById('customers-empty');
  const errors = document.getElementById('customers-error');
  const prev = document.getElementById('prev-page');
  const next = document.getElementById('next-page');
  const pageNumber = document.getElementById('page-number');
  // Cursors of the pages shown so far (null: the first page).
  let cursors = [null];
  let nextCursor = null;

  async function load() {
    const params = new URLSearchParams({ limit: '25' });
    const q = input.value.trim();
    if (q) params.set('q', q);
    const cursor = cursors[cursors.length - 1];
    if (cursor) params.set('cursor', cursor);
    clear(errors);
    const table = tbody.closest('table');
    table.dataset.loaded = 'false';
    prev.disabled = true; next.disabled = true;
    try {
      const page = await api('/api/v1/customers?' + params);
      clear(tbody);
      for (const c of page.customers) {
        const link = el('a', { href: '/customers/' + encodeURIComponent(c.id), class: 'customer-link', text: c.name || c.email || c.phone || c.id });
        const place = [c.city, c.country].filter(Boolean).join(', ');
        tbody.append(row([link, c.email || '', place, tag(c.persona_name, 'persona'), health(c.health_score)], [4]));
      }
      empty.hidden = page.customers.length > 0;
      nextCursor = page.next_cursor;
      next.disabled = !nextCursor;
      prev.disabled = cursors.length <= 1;
      pageNumber.textContent = 'Page ' + cursors.length;
      table.dataset.query = q;
      table.dataset.loaded = 'true';
    } catch (e) {
      showError(errors, e);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    history.replaceState(null, '', q ? '/customers?q=' + encodeURIComponent(q) : '/customers');
    cursors = [null];
    load();
  });
  next.addEventListener('click', () => { if (nextCursor) { cursors.push(nextCursor); load(); } });
  prev.addEventListener('click', () => { if (cursors.length > 1) { cursors.pop(); load(); } });
  load();
})();
