// AIMA dashboard: helpers every page's script uses. Data from the API is
// only ever inserted as text (textContent / text nodes), never as HTML.
'use strict';

const AIMA = (() => {
  /** The value of cookie `name`, or ''. */
  function cookie(name) {
    for (const part of document.cookie.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) {
        return decodeURIComponent(part.slice(i + 1).trim());
      }
    }
    return '';
  }

  /** The session's CSRF token (sent as X-CSRF-Token on every change). */
  function csrf() { return cookie('aima_csrf'); }

  /** An error of the API: its message, code, field and HTTP status. */
  class ApiError extends Error {
    constructor(message, status, code, field) {
      super(message);
      this.status = status; this.code = code; this.field = field;
    }
  }

  /** The ApiError of a failed response (`{"error": {code, message, field}}`). */
  async function errorOf(res) {
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    const e = body && body.error;
    if (res.status === 401) {
      // The session ended: sign in again, then come back.
      location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    }
    return new ApiError(e && e.message ? e.message : `request failed (HTTP ${res.status})`,
      res.status, e ? e.code : 'http', e ? e.field : null);
  }

  /**
   * Fetches `path` of the API with the session cookie; a non-GET request
   * carries the CSRF token. `opts.json` is sent as a JSON body. Resolves to
   * the parsed JSON (null for an empty body); rejects with an ApiError.
   */
  async function api(path, opts = {}) {
    const method = opts.method || 'GET';
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf();
    let res;
    try {
      res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError('the server cannot be reached: ' + e.message, 0, 'network', null);
    }
    if (!res.ok) throw await errorOf(res);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  /**
   * Creates element `tag` with `attrs` (`class`, `href`, `data-*`, ...,
   * and `text`) and `children` (nodes, or strings added as text).
   */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = v;
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** Removes every child of `node`. */
  function clear(node) { node.replaceChildren(); return node; }

  /** Shows `err` (an ApiError or any Error) in `container`. */
  function showError(container, err) {
    if (!container) return;
    clear(container).append(el('p', { class: 'error', role: 'alert', text: err && err.message ? err.message : String(err) }));
  }

  const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  /** A count. */
  function num(v) { return v === null || v === undefined ? '–' : nf.format(v); }
  /** An amount of money (currency units). */
  function money(v) { return v === null || v === undefined ? '–' : nf2.format(v); }
  /** A share 0..1 as a percentage. */
  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; }
  /** A date-time as a local date and time. */
  function when(v) {
    if (!v) return '–';
    const d = new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleString();
  }
  /** A date as a local date. */
  function day(v) {
    if (!v) return '–';
    const d = new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleDateString();
  }
  /** A risk tier key (`very_high`) as words. */
  function words(key) { return key ? String(key).replace(/_/g, ' ') : '–'; }

  /** A health score 0..100 as a number with a small bar. */
  function health(score) {
    if (score === null || score === undefined) return el('span', { class: 'muted', text: '–' });
    const bar = el('span', { class: 'bar' }, el('span'));
    bar.firstChild.style.width = Math.max(0, Math.min(100, score)) + '%';
    return el('span', { class: 'health' }, bar, Math.round(score).toString());
  }

  /** A tag (persona, tier). */
  function tag(text, cls) { return text ? el('span', { class: 'tag ' + (cls || ''), text }) : el('span', { class: 'muted', text: '–' }); }

  /** A table row of cells (nodes or text); `num` lists the numeric columns. */
  function row(cells, numeric = []) {
    return el('tr', null, cells.map((c, i) => el('td', { class: numeric.includes(i) ? 'num' : null }, c)));
  }

  /** Sizes a chart to its container now and when the window resizes. */
  function responsive(chart, container, height) {
    const fit = () => chart.setSize({ width: Math.max(240, container.clientWidth), height });
    window.addEventListener('resize', fit);
    fit();
    return chart;
  }

  /** A bar chart of `values` (one per label) in `container` (uPlot). */
  function barChart(container, labels, values, seriesLabel, color) {
    clear(container);
    if (!window.uPlot || labels.length === 0) return null;
    const xs = labels.map((_, i) => i);
    const opts = {
      width: Math.max(240, container.clientWidth), height: 220,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: () => [-0.6, labels.length - 0.4] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { splits: () => xs, values: (u, splits) => splits.map((i) => labels[i] === undefined ? '' : String(labels[i])), gap: 4, size: 40 },
        { size: 60 },
      ],
      series: [{}, { label: seriesLabel, fill: color || '#2457c5', stroke: color || '#2457c5', paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
    };
    return responsive(new uPlot(opts, [xs, values.map((v) => v === null || v === undefined ? null : v)], container), container, 220);
  }

  /** A line chart of `ys` over times `xs` (unix seconds) in `container`. */
  function lineChart(container, xs, ys, seriesLabel) {
    clear(container);
    if (!window.uPlot || xs.length === 0) return null;
    const opts = {
      width: Math.max(240, container.clientWidth), height: 240,
      series: [{}, { label: seriesLabel, stroke: '#2457c5', fill: 'rgba(36,87,197,.12)', width: 2, value: (u, v) => v === null ? '–' : money(v) }],
      axes: [{}, { size: 70 }],
    };
    return responsive(new uPlot(opts, [xs, ys], container), container, 240);
  }

  /**
   * Follows job `id` (GET /api/v1/jobs/{id}) until it has finished,
   * calling `onUpdate(job)` after every poll. Resolves to the finished job.
   */
  async function followJob(id, onUpdate) {
    for (;;) {
      const job = await api('/api/v1/jobs/' + encodeURIComponent(id));
      if (onUpdate) onUpdate(job);
      if (job.status === 'succeeded' || job.status === 'failed') return job;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /**
   * Wires `button` to queue a job with POST `path` and follow it, telling
   * its progress in `status`; `done()` runs after it succeeded.
   */
  function jobButton(button, path, status, done) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.textContent = 'Queued…';
      try {
        const queued = await api(path, { method: 'POST' });
        const job = await followJob(queued.job_id, (j) => { status.textContent = `Job ${j.kind}: ${j.status}…`; });
        if (job.status === 'succeeded') {
          status.textContent = `Finished in ${((job.duration_ms || 0) / 1000).toFixed(1)} s.`;
          if (done) await done();
        } else {
          status.textContent = 'Failed: ' + (job.error || 'unknown error');
        }
      } catch (e) {
        status.textContent = e.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  return { cookie, csrf, ApiError, errorOf, api, el, clear, showError, num, money, pct, when, day, words, health, tag, row, barChart, lineChart, followJob, jobButton };
})();
