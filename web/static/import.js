// Import: a file's preview (POST /api/v1/import/preview) with an editable
// column mapping, then the import (POST /api/v1/import/file) and its
// rejected rows; or a Google Sheets link (POST /api/v1/import/google-sheet).
'use strict';
(() => {
  const { api, el, clear, showError, num, row } = AIMA;
  const fileInput = document.getElementById('file');
  const previewButton = document.getElementById('preview-button');
  const importButton = document.getElementById('import-button');
  const sheetButton = document.getElementById('sheet-button');
  const errors = document.getElementById('import-error');
  const status = document.getElementById('import-status');
  const previewCard = document.getElementById('preview');
  const resultCard = document.getElementById('result');
  const fieldOptions = Array.from(document.getElementById('field-options').options).map((o) => o.value);
  // The detected mapping of the previewed file: [{header, field}].
  let detected = [];

  function busy(text) {
    clear(errors);
    status.textContent = text;
    previewButton.disabled = true; importButton.disabled = true; sheetButton.disabled = true;
  }
  function idle() {
    status.textContent = '';
    previewButton.disabled = !fileInput.files.length; importButton.disabled = false; sheetButton.disabled = false;
  }

  /** `map=Header=field` for each column whose field the user changed. */
  function mapParams(params) {
    document.querySelectorAll('#mapping-table select').forEach((select, i) => {
      const col = detected[i];
      const chosen = select.value;
      if (col && chosen !== (col.field || 'ignore')) params.append('map', col.header + '=' + chosen);
    });
    return params;
  }

  function counts(dl, pairs) {
    clear(dl);
    for (const [label, value] of pairs) dl.append(el('div', null, el('dt', { text: label }), el('dd', { text: value })));
  }

  function showPreview(file, p) {
    document.getElementById('preview-name').textContent = file.name;
    counts(document.getElementById('preview-counts'), [
      ['Rows', num(p.rows)], ['New customers', num(p.customers_created)], ['Updated customers', num(p.customers_updated)],
      ['New orders', num(p.orders_created)], ['Updated orders', num(p.orders_updated)], ['Bad rows', num(p.rows_rejected)],
      ['Dates', p.date_order ? p.date_order : 'detected per value'],
    ]);
    const problems = clear(document.getElementById('preview-problems'));
    for (const pr of p.problems.slice(0, 50)) problems.append(el('li', { text: (pr.row ? `Row ${pr.row}: ` : '') + pr.message }));
    detected = p.columns.map((c) => ({ header: c.header, field: c.field }));
    const tbody = clear(document.querySelector('#mapping-table tbody'));
    p.columns.forEach((c) => {
      const select = el('select', { 'aria-label': 'Field of ' + c.header, 'data-header': c.header });
      for (const f of fieldOptions) select.append(el('option', { value: f, text: f === 'ignore' ? '(ignore)' : f }));
      select.value = c.field || 'ignore';
      tbody.append(row([el('strong', { text: c.header }), c.samples.slice(0, 3).join(' · '), (c.confidence * 100).toFixed(0) + '%', select], [2]));
    });
    resultCard.hidden = true;
    previewCard.hidden = false;
  }

  async function preview() {
    const file = fileInput.files[0];
    if (!file) return;
    busy('Reading ' + file.name + '…');
    try {
      const params = new URLSearchParams({ filename: file.name });
      const p = await api('/api/v1/import/preview?' + params, { method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' } });
      showPreview(file, p);
    } catch (e) {
      showError(errors, e);
    } finally {
      idle();
    }
  }

  function showResult(r) {
    counts(document.getElementById('result-counts'), [
      ['New customers', num(r.customers_created)], ['Updated customers', num(r.customers_updated)],
      ['New orders', num(r.orders_created)], ['Updated orders', num(r.orders_updated)], ['Rejected rows', num(r.rows_rejected.length)],
    ]);
    const tbody = clear(document.querySelector('#rejected-table tbody'));
    for (const bad of r.rows_rejected) tbody.append(row([String(bad.row), bad.reason], [0]));
    document.getElementById('rejected-wrap').hidden = r.rows_rejected.length === 0;
    previewCard.hidden = true;
    resultCard.hidden = false;
    resultCard.dataset.jobId = r.job_id;
  }

  /**
   * POSTs an import asking for Server-Sent Events: `progress` events move
   * the bar as the server reads the rows; resolves to the `result` event's
   * report, rejects with the `error` event's message.
   */
  async function streamImport(path, init) {
    const bar = document.getElementById('import-progress');
    const headers = Object.assign({ Accept: 'text/event-stream', 'X-CSRF-Token': AIMA.csrf() }, init.headers || {});
    const res = await fetch(path, { method: 'POST', credentials: 'same-origin', body: init.body, headers });
    if (!res.ok) throw await AIMA.errorOf(res);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let outcome = null;
    const take = (block) => {
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) return;
      const value = JSON.parse(data.join('\n'));
      if (name === 'progress') {
        bar.hidden = false;
        bar.max = Math.max(1, value.rows_total);
        bar.value = value.rows_done;
        status.textContent = `Read ${num(value.rows_done)} of ${num(value.rows_total)} rows…`;
      } else if (name === 'result') {
        outcome = { ok: value };
      } else if (name === 'error') {
        const e = value.error || {};
        outcome = { err: new AIMA.ApiError(e.message || 'the import failed', 422, e.code, e.field) };
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) { take(buffer.slice(0, end)); buffer = buffer.slice(end + 2); }
    }
    if (buffer.trim()) take(buffer);
    bar.hidden = true;
    if (!outcome) throw new Error('the import ended without a result');
    if (outcome.err) throw outcome.err;
    return outcome.ok;
  }

  async function importFile() {
    const file = fileInput.files[0];
    if (!file) return;
    busy('Importing ' + file.name + '…');
    try {
      const params = mapParams(new URLSearchParams({ filename: file.name }));
      if (document.getElementById('strict').checked) params.set('strict', 'true');
      const r = await streamImport('/api/v1/import/file?' + params, { body: file, headers: { 'Content-Type': 'application/octet-stream' } });
      showResult(r);
    } catch (e) {
      showError(errors, e);
    } finally {
      idle();
    }
  }

  async function importSheet() {
    const url = document.getElementById('sheet-url').value.trim();
    if (!url) { showError(errors, new Error('Paste the sheet\'s share link first.')); return; }
    busy('Fetching the sheet…');
    try {
      const r = await streamImport('/api/v1/import/google-sheet', { body: JSON.stringify({ url }), headers: { 'Content-Type': 'application/json' } });
      showResult(r);
    } catch (e) {
      showError(errors, e);
    } finally {
      idle();
    }
  }

  fileInput.addEventListener('change', () => { previewButton.disabled = !fileInput.files.length; preview(); });
  previewButton.addEventListener('click', preview);
  importButton.addEventListener('click', importFile);
  sheetButton.addEventListener('click', importSheet);
})();
