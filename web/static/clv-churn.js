// CLV & churn: customers per risk tier (GET /api/v1/clv-churn/predictions
// per tier), CLV by persona (GET /api/v1/clv-churn/by-segment) and the
// valuable customers at risk (GET /api/v1/clv-churn/at-risk).
'use strict';
(() => {
  const { api, el, clear, showError, num, money, when, words, tag, row } = AIMA;
  const TIERS = ['very_high', 'high', 'medium', 'low'];
  const TIER_COLORS = '#b3261e';

  async function tiers() {
    const errors = clear(document.getElementById('tier-error'));
    const tbody = document.querySelector('#tier-table tbody');
    try {
      const results = await Promise.all(TIERS.map((t) => api('/api/v1/clv-churn/predictions?limit=1&tier=' + t)));
      clear(tbody);
      results.forEach((r, i) => tbody.append(row([tag(words(TIERS[i]), 'tier-' + TIERS[i]), num(r.matching)], [1])));
      const first = results[0];
      document.getElementById('churn-meta').textContent =
        `Probability of no purchase within ${first.horizon_days} days; scored ${when(first.predicted_at)} by ${first.model_version}.`;
      AIMA.barChart(document.getElementById('tier-chart'), TIERS.map(words), results.map((r) => r.matching), 'Customers', TIER_COLORS);
      document.getElementById('tier-table').dataset.loaded = 'true';
    } catch (e) {
      clear(tbody);
      showError(errors, e);
    }
  }

  async function bySegment() {
    const errors = clear(document.getElementById('clv-error'));
    const tbody = document.querySelector('#clv-table tbody');
    try {
      const r = await api('/api/v1/clv-churn/by-segment');
      clear(tbody);
      for (const s of r.segments) tbody.append(row([words(s.segment), num(s.customers), money(s.mean_clv), money(s.total_clv)], [1, 2, 3]));
      AIMA.barChart(document.getElementById('clv-chart'), r.segments.map((s) => words(s.segment)), r.segments.map((s) => s.mean_clv), 'Mean CLV', '#1e7b34');
      document.getElementById('clv-table').dataset.loaded = 'true';
    } catch (e) {
      clear(tbody);
      showError(errors, e);
    }
  }

  async function atRisk() {
    const errors = clear(document.getElementById('at-risk-error'));
    const tbody = document.querySelector('#at-risk-table tbody');
    try {
      const r = await api('/api/v1/clv-churn/at-risk?limit=50');
      clear(tbody);
      document.getElementById('at-risk-meta').textContent =
        `${num(r.at_risk)} valuable customers (spent at least ${money(r.valuable_min_spend)}) are at high risk.`;
      for (const c of r.customers) {
        const link = el('a', { href: '/customers/' + encodeURIComponent(c.customer_id), text: c.name || c.email || c.customer_id });
        tbody.append(row([link, c.email || '', money(c.monetary_total), money(c.clv), tag(words(c.risk_tier), 'tier-' + c.risk_tier), c.segment ? words(c.segment) : '–', c.intervention], [2, 3]));
      }
      if (r.customers.length === 0) tbody.append(el('tr', null, el('td', { colspan: 7, class: 'muted', text: 'No valuable customer is at high risk.' })));
      document.getElementById('at-risk-table').dataset.loaded = 'true';
    } catch (e) {
      clear(tbody);
      showError(errors, e);
    }
  }

  function load() { return Promise.all([tiers(), bySegment(), atRisk()]); }
  AIMA.jobButton(document.getElementById('run-churn'), '/api/v1/clv-churn/run', document.getElementById('job-status'), load);
  load();
})();
