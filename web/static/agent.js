// Ask AIMA: the planner over the WebSocket /ws/chat (the session cookie
// authenticates it). A dropped connection reconnects and sends `resume`
// with the last event seen, so no event is lost; a browser without
// WebSocket falls back to Server-Sent Events (POST /api/v1/agent/chat with
// Accept: text/event-stream, read with fetch + ReadableStream). Shows the
// plan, each tool call with a summary of its result, the answer as its
// tokens arrive, the final answer with its citations, and Approve / Reject
// for a paused step.
'use strict';
(() => {
  const { el, clear, errorOf, csrf } = AIMA;
  const conversation = document.getElementById('conversation');
  const form = document.getElementById('chat-form');
  const input = document.getElementById('message');
  const send = document.getElementById('send');
  let threadId = null;
  // The WebSocket transport: the open socket, the turn its events go to,
  // the last event's number (for `resume`) and the reconnect delay.
  let socket = null;
  let current = null;
  let lastSeq = 0;
  let retryMs = 250;
  const pending = [];

  /** A short text summary of a tool result. */
  function summarize(result) {
    if (result === null || result === undefined) return 'no result';
    if (Array.isArray(result)) return `${result.length} rows`;
    if (typeof result !== 'object') return String(result);
    const parts = [];
    for (const [k, v] of Object.entries(result)) {
      if (Array.isArray(v)) parts.push(`${k}: ${v.length} items`);
      else if (v !== null && typeof v === 'object') parts.push(`${k}: {…}`);
      else parts.push(`${k}: ${v}`);
      if (parts.length >= 5) break;
    }
    const text = parts.join(', ');
    return text.length > 240 ? text.slice(0, 239) + '…' : text;
  }

  /** The DOM of one turn (a question, or a resumed step). */
  function newTurn(question) {
    const turn = {
      root: el('article', { class: 'turn' }),
      planLabel: el('div', { class: 'label-small', text: 'Plan', hidden: true }),
      plan: el('ol', { class: 'plan' }),
      steps: el('div', { class: 'steps' }),
      toolsLabel: el('div', { class: 'label-small', text: 'Tools', hidden: true }),
      tools: el('ul', { class: 'tools' }),
      answer: el('div', { class: 'answer' }),
      citations: el('div', { class: 'citations' }),
      extra: el('div'),
      calls: new Map(),
    };
    turn.root.append(el('p', { class: 'question', text: question }), turn.planLabel, turn.plan, turn.steps,
      turn.toolsLabel, turn.tools, turn.answer, turn.citations, turn.extra);
    conversation.append(turn.root);
    turn.root.scrollIntoView({ block: 'end' });
    return turn;
  }

  /** Applies one protocol event to `turn`. */
  function handle(turn, ev) {
    if (ev.thread_id && ev.thread_id !== threadId) { threadId = ev.thread_id; lastSeq = 0; }
    if (typeof ev.seq === 'number') {
      if (ev.seq <= lastSeq) return; // already shown (a replay after a reconnect)
      lastSeq = ev.seq;
    }
    switch (ev.type) {
      case 'plan':
        clear(turn.plan);
        turn.planLabel.hidden = false;
        for (const s of ev.steps) turn.plan.append(el('li', null, el('code', { text: s.tool }), ' — ' + s.purpose));
        break;
      case 'step':
        turn.steps.textContent = `${ev.node}: ${ev.status}${ev.detail ? ' (' + ev.detail + ')' : ''}`;
        break;
      case 'tool_call': {
        turn.toolsLabel.hidden = false;
        const result = el('span', { class: 'muted', text: ' running…' });
        const li = el('li', { 'data-call-id': ev.call_id }, el('code', { text: ev.tool }), ' ', el('span', { class: 'muted', text: JSON.stringify(ev.arguments) }), el('br'), result);
        turn.calls.set(ev.call_id, { li, result });
        turn.tools.append(li);
        break;
      }
      case 'tool_result': {
        let call = turn.calls.get(ev.call_id);
        if (!call) { handle(turn, { type: 'tool_call', call_id: ev.call_id, tool: ev.tool, arguments: {} }); call = turn.calls.get(ev.call_id); }
        call.li.className = ev.ok ? 'ok' : 'failed';
        call.result.className = ev.ok ? '' : 'error-text';
        call.result.textContent = ev.ok ? '→ ' + summarize(ev.result) : '✗ ' + (ev.error || 'failed');
        break;
      }
      case 'token':
        turn.answer.append(document.createTextNode(ev.text));
        break;
      case 'final':
        turn.answer.textContent = ev.answer;
        turn.answer.classList.add('done');
        turn.root.scrollIntoView({ block: 'end' });
        clear(turn.citations);
        if (ev.citations && ev.citations.length) {
          turn.citations.append('Sources: ');
          ev.citations.forEach((c, i) => {
            if (i) turn.citations.append(', ');
            turn.citations.append(el('code', { text: c.tool }), ` (${c.call_id})`);
          });
        }
        break;
      case 'interrupt':
        showInterrupt(turn, ev);
        break;
      case 'error':
        turn.extra.append(el('p', { class: 'error', role: 'alert', text: ev.message }));
        break;
      default:
        break;
    }
  }

  /** Approve / Reject for a step that waits for approval. */
  function showInterrupt(turn, ev) {
    const approve = el('button', { type: 'button', class: 'approve', text: 'Approve' });
    const reject = el('button', { type: 'button', class: 'secondary reject', text: 'Reject' });
    const box = el('div', { class: 'interrupt', role: 'group', 'aria-label': 'Needs approval' },
      el('strong', { text: 'Needs your approval: ' }), ev.reason,
      el('div', null, el('code', { text: ev.tool })),
      el('pre', { text: JSON.stringify(ev.arguments, null, 2) }),
      el('div', { class: 'actions' }, approve, reject));
    turn.extra.append(box);
    box.scrollIntoView({ block: 'center' });
    const decide = async (action) => {
      approve.disabled = true; reject.disabled = true;
      const thread = ev.thread_id || threadId;
      const next = newTurn(action === 'approve' ? `Approved ${ev.tool}` : `Rejected ${ev.tool}`);
      if (wsAvailable) startWs(next, { type: action, thread_id: thread });
      else await run(next, `/api/v1/agent/threads/${encodeURIComponent(thread)}/${action}`, {});
    };
    approve.addEventListener('click', () => decide('approve'));
    reject.addEventListener('click', () => decide('reject'));
  }

  /** Parses one SSE message block and hands its event to `turn`. */
  function dispatch(turn, block) {
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return; // a comment (keep-alive) or an empty block
    try { handle(turn, JSON.parse(data.join('\n'))); } catch (e) { turn.extra.append(el('p', { class: 'error', text: 'unreadable event: ' + e.message })); }
  }

  /** POSTs `body` to `url` and streams the turn's events into `turn`. */
  async function run(turn, url, body) {
    send.disabled = true;
    try {
      const res = await fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': csrf() },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw await errorOf(res);
      if (!(res.headers.get('content-type') || '').includes('text/event-stream')) {
        const whole = await res.json();
        for (const ev of whole.events || []) handle(turn, ev);
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(turn, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      if (buffer.trim()) dispatch(turn, buffer);
    } catch (e) {
      turn.extra.append(el('p', { class: 'error', role: 'alert', text: e.message }));
    } finally {
      send.disabled = false;
      turn.root.dataset.finished = 'true';
    }
  }

  const wsAvailable = typeof WebSocket === 'function';

  /** Ends the current WebSocket turn. */
  function finish(turn) {
    send.disabled = false;
    turn.root.dataset.finished = 'true';
    if (current === turn) current = null;
  }

  /** The open socket, connecting (and resuming a running turn) if needed. */
  function connect() {
    if (socket && socket.readyState <= WebSocket.OPEN) return socket;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/chat';
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      retryMs = 250;
      if (current && threadId) socket.send(JSON.stringify({ type: 'resume', thread_id: threadId, after_seq: lastSeq }));
      while (pending.length) socket.send(pending.shift());
    });
    socket.addEventListener('message', (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      const turn = current;
      if (!turn) return;
      if (data.error) {
        turn.extra.append(el('p', { class: 'error', role: 'alert', text: data.error.message }));
        finish(turn);
        return;
      }
      handle(turn, data);
      if (data.type === 'final' || data.type === 'error' || data.type === 'interrupt') finish(turn);
    });
    socket.addEventListener('close', () => {
      socket = null;
      // A turn still running: reconnect, then `resume` picks up after lastSeq.
      if (current) { setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 5000); }
    });
    return socket;
  }

  /** Sends `command` over the WebSocket; its events go to `turn`. */
  function startWs(turn, command) {
    send.disabled = true;
    current = turn;
    const text = JSON.stringify(command);
    const s = connect();
    if (s.readyState === WebSocket.OPEN) s.send(text); else pending.push(text);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    input.value = '';
    const turn = newTurn(message);
    const body = { message };
    if (threadId) body.thread_id = threadId;
    if (wsAvailable) startWs(turn, { type: 'ask', ...body });
    else run(turn, '/api/v1/agent/chat', body);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById('new-thread').addEventListener('click', () => {
    threadId = null;
    lastSeq = 0;
    clear(conversation);
    input.focus();
  });
})();
