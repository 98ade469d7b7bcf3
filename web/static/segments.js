// Segments: personas and fingerprint clusters (GET /api/v1/segments) and
// the segmentation run (POST /api/v1/segments/run, then the job).
'use strict';
(() => {
  const { api, el, clear, showError, num, money, pct, when, row } = AIMA;

  async function load() {
    const errors = document.getElementById('segments-error');
    clear(errors);
    try {
      const s = await api('/api/v1/segments');
      document.getElementById('segments-meta').textContent = s.computed_at
        ? `${num(s.customers_with_persona)} customers with a persona, computed ${when(s.computed_at)}.`
        : 'Personas have not been computed yet: run segmentation.';
      const tbody = clear(document.querySelector('#persona-table tbody'));
      for (const seg of s.segments) {
        tbody.append(row([el('strong', { text: seg.name }), num(seg.customers), pct(seg.share), money(seg.mean_clv),
          seg.mean_health_score === null ? '–' : seg.mean_health_score.toFixed(0), seg.description, seg.recommended_action], [1, 2, 3, 4]));
      }
      AIMA.barChart(document.getElementById('segment-chart'), s.segments.map((x) => x.name), s.segments.map((x) => x.customers), 'Customers');
      const clusters = clear(document.querySelector('#cluster-table tbody'));
      for (const c of s.fingerprint_clusters || []) {
        clusters.append(row([String(c.cluster), c.name, c.persona || '–', num(c.size), c.mean_health_score === null || c.mean_health_score === undefined ? '–' : c.mean_health_score.toFixed(0)], [3, 4]));
      }
      document.getElementById('clusters-empty').hidden = (s.fingerprint_clusters || []).length > 0;
      document.getElementById('persona-table').dataset.loaded = 'true';
    } catch (e) {
      showError(errors, e);
    }
  }

  AIMA.jobButton(document.getElementById('run-segmentation'), '/api/v1/segments/run', document.getElementById('job-status'), load);
  load();
})();
