// Dashboard: order and revenue totals with the monthly chart
// (GET /api/v1/revenue), persona counts (GET /api/v1/segments) and the
// latest drift alerts (GET /api/v1/segments/alerts), and the connectors
// with their sync status (GET /api/v1/connectors).
'use strict';
(() => {
  const { api, el, clear, num, money, pct, when, row } = AIMA;

  async function revenue() {
    const chart = document.getElementById('revenue-chart');
    const note = document.getElementById('revenue-note');
    try {
      const r = await api('/api/v1/revenue?granularity=month');
      document.getElementById('order-count').textContent = num(r.total_orders);
      document.getElementById('revenue-total').textContent = money(r.total_revenue);
      const xs = r.buckets.map((b) => Date.parse(b.period_start + 'T00:00:00Z') / 1000);
      const ys = r.buckets.map((b) => b.revenue);
      if (xs.length === 0) note.textContent = 'No orders yet: import some.';
      else AIMA.lineChart(chart, xs, ys, 'Revenue');
    } catch (e) {
      document.getElementById('order-count').textContent = '–';
      document.getElementById('revenue-total').textContent = '–';
      note.textContent = e.message;
    }
  }

  async function segments() {
    const tbody = document.querySelector('#segment-table tbody');
    try {
      const s = await api('/api/v1/segments');
      document.getElementById('persona-count').textContent = num(s.customers_with_persona);
      clear(tbody);
      for (const seg of s.segments) tbody.append(row([seg.name, num(seg.customers), pct(seg.share)], [1, 2]));
      if (s.segments.length === 0) tbody.append(el('tr', null, el('td', { colspan: 3, class: 'muted', text: 'No personas yet: run segmentation on the Segments page.' })));
    } catch (e) {
      document.getElementById('persona-count').textContent = '–';
      clear(tbody).append(el('tr', null, el('td', { colspan: 3, class: 'muted', text: e.message })));
    }
  }

  async function alerts() {
    const list = document.getElementById('alert-list');
    try {
      const a = await api('/api/v1/segments/alerts?limit=8');
      clear(list);
      for (const alert of a.alerts) {
        const who = alert.customer_id
          ? el('a', { href: '/customers/' + encodeURIComponent(alert.customer_id), text: alert.name || 'a customer' })
          : (alert.name || 'a customer');
        list.append(el('li', null,
          el('div', { class: 'sev-' + alert.severity, text: alert.title }),
          el('div', { class: 'muted' }, who, ` · ${alert.from} → ${alert.to} · ${when(alert.created_at)}`),
          el('div', { text: alert.recommended_action })));
      }
      if (a.alerts.length === 0) list.append(el('li', { class: 'muted', text: 'No drift alerts: no customer moved to a worse persona.' }));
    } catch (e) {
      clear(list).append(el('li', { class: 'muted', text: e.message }));
    }
  }

  async function connectors() {
    const box = document.getElementById('connectors');
    const importLink = () => el('a', { href: '/import', text: 'import a file or a Google Sheets link' });
    try {
      const list = await api('/api/v1/connectors');
      clear(box);
      if (list.length === 0) {
        box.append(el('p', null, 'No connectors yet. Until you add one, ', importLink(), '.'));
      } else {
        const table = el('table', { class: 'data' }, el('thead', null, el('tr', null, el('th', { text: 'Name' }), el('th', { text: 'Kind' }), el('th', { text: 'Status' }), el('th', { text: 'Last sync' }))));
        const tbody = el('tbody');
        for (const c of list) tbody.append(row([c.name, c.kind, c.status, when(c.last_sync_at)]));
        table.append(tbody);
        box.append(el('p', { text: `${list.length} connector${list.length === 1 ? '' : 's'}:` }), el('div', { class: 'table-wrap' }, table));
      }
    } catch (e) {
      clear(box);
      box.append(el('p', { class: 'muted', text: e.message }));
    }
    box.dataset.loaded = 'true';
  }

  revenue(); segments(); alerts(); connectors();
})();
