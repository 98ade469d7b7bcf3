// One customer's profile (GET /api/v1/customers/{id}).
'use strict';
(() => {
  const { api, el, clear, showError, num, money, pct, when, day, words, health, tag, row } = AIMA;
  const root = document.getElementById('profile');
  const id = root.dataset.customerId;

  /** Fills definition list `dl` with [term, value] pairs. */
  function fill(dl, pairs) {
    clear(dl);
    for (const [term, value] of pairs) {
      dl.append(el('dt', { text: term }), el('dd', null, value === null || value === undefined || value === '' ? '–' : value));
    }
  }

  async function load() {
    try {
      const p = await api('/api/v1/customers/' + encodeURIComponent(id));
      const c = p.customer;
      const name = c.name || c.email || c.phone || c.id;
      document.getElementById('customer-name').textContent = name;
      document.title = name + ' · AIMA';
      fill(document.getElementById('contact'), [
        ['E-mail', c.email], ['Phone', c.phone], ['City', c.city], ['Country', c.country],
        ['Tags', (c.tags || []).join(', ')], ['Source id', p.external_id], ['Since', day(c.created_at)],
      ]);
      const i = p.intelligence || {};
      fill(document.getElementById('intelligence'), [
        ['Persona', tag(i.persona_name, 'persona')],
        ['Health score', health(i.health_score)],
        ['Churn risk', i.risk_tier ? tag(words(i.risk_tier), 'tier-' + i.risk_tier) : null],
        ['Churn in 30 / 60 / 90 days', i.churn_90d === null || i.churn_90d === undefined ? null : `${pct(i.churn_30d)} / ${pct(i.churn_60d)} / ${pct(i.churn_90d)}`],
        ['12-month CLV', i.clv === null || i.clv === undefined ? null : money(i.clv)],
        ['Intervention', i.intervention],
      ]);
      const s = p.order_stats;
      fill(document.getElementById('order-stats'), [
        ['Orders', num(s.orders)], ['Revenue', money(s.total_revenue)], ['Average order', money(s.average_order_value)],
        ['First order', when(s.first_order_at)], ['Last order', when(s.last_order_at)],
      ]);
      const orders = clear(document.querySelector('#recent-orders tbody'));
      for (const o of p.recent_orders) {
        orders.append(row([o.order_id, day(o.ordered_at), money(o.amount) + (o.currency ? ' ' + o.currency : ''), o.status || '', (o.products || []).join(', ')], [2]));
      }
      fill(document.getElementById('properties'), Object.entries(p.properties || {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      const similar = clear(document.querySelector('#similar tbody'));
      for (const m of i.similar_customers || []) {
        const link = el('a', { href: '/customers/' + encodeURIComponent(m.customer_id), text: m.name || m.email || m.customer_id });
        similar.append(row([link, m.email || '', pct(m.similarity), m.persona ? words(m.persona) : '–', m.cluster_name || (m.cluster === null || m.cluster === undefined ? '–' : String(m.cluster))], [2]));
      }
      document.getElementById('similar-empty').hidden = (i.similar_customers || []).length > 0;
      root.dataset.loaded = 'true';
    } catch (e) {
      showError(document.getElementById('profile-error'), e);
    }
  }
  load();
})();
