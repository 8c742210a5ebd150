/// The gallery page's script (plain ES2020, no libraries): state, virtualised grid, keyboard, lightbox,
/// filters, picks in `localStorage`, exports. `window.klingkitGallery` exposes the state for tests.
enum GalleryScript {
    static let source = #"""
    "use strict";
    (function () {
    const G = window.KLINGKIT_GALLERY;
    if (!G) { document.getElementById('grid').textContent = 'gallery.js is missing or damaged: run klingkit gallery again.'; return; }
    const CARD_W = 232, CARD_H = 330, GAP = 12, HEAD_H = 58, GROUP_GAP = 40, PAD = 16, OVERSCAN = 800;
    const $ = (id) => document.getElementById(id);
    const grid = $('grid');

    // ---- Data: one flat list in page order (each group's references first, then its results).
    const items = [];
    const byId = new Map();
    G.groups.forEach((g) => g.entries.forEach((e) => {
      const item = { e, g, n: items.length, text: [e.prompt, e.negative_prompt, e.task_id, e.name, g.label].filter(Boolean).join('\n').toLowerCase() };
      items.push(item); byId.set(e.id, item);
    }));
    const storeKey = 'klingkit-gallery:' + G.id;
    let verdicts = {};
    try { verdicts = JSON.parse(localStorage.getItem(storeKey) || '{}').verdicts || {}; } catch (_) { verdicts = {}; }
    const undo = [];
    const filter = { verdict: 'all', group: '', text: '' };
    let visible = [], rows = [], cols = 1, pos = [];
    let cursor = -1, anchor = -1;
    const selected = new Set();
    const nodes = new Map();

    function save() {
      try { localStorage.setItem(storeKey, JSON.stringify({ verdicts, saved: new Date().toISOString() })); } catch (_) {}
    }
    const verdictOf = (item) => verdicts[item.e.id] || 'none';

    // ---- Filtering and layout.
    function applyFilter(keepItem) {
      const text = filter.text.trim().toLowerCase();
      const shownGroups = new Set();
      const results = items.filter((it) => {
        if (it.e.role !== 'result') return false;
        if (filter.group && it.g.id !== filter.group) return false;
        if (filter.verdict !== 'all' && verdictOf(it) !== filter.verdict) return false;
        if (text && !it.text.includes(text)) return false;
        shownGroups.add(it.g);
        return true;
      });
      const keep = new Set(results);
      visible = items.filter((it) => keep.has(it) || (it.e.role === 'reference' && shownGroups.has(it.g)) ||
        (it.e.role === 'reference' && filter.verdict === 'all' && !text && (!filter.group || it.g.id === filter.group)));
      if (keepItem) {
        const i = visible.indexOf(keepItem);
        cursor = i >= 0 ? i : Math.min(cursor, visible.length - 1);
      } else {
        cursor = visible.length ? 0 : -1;
      }
      anchor = cursor;
      for (const id of [...selected]) if (!keep.has(byId.get(id))) selected.delete(id);
      layout();
    }

    function layout() {
      const width = grid.clientWidth || window.innerWidth;
      cols = Math.max(1, Math.floor((width - 2 * PAD + GAP) / (CARD_W + GAP)));
      rows = []; pos = new Array(visible.length);
      let y = PAD, i = 0;
      while (i < visible.length) {
        const g = visible[i].g, start = i;
        while (i < visible.length && visible[i].g === g) i++;
        rows.push({ kind: 'head', g, y, h: HEAD_H, start, end: i });
        y += HEAD_H;
        for (let k = start; k < i; k += cols) {
          const row = { kind: 'cards', y, h: CARD_H, start: k, end: Math.min(i, k + cols) };
          for (let j = row.start; j < row.end; j++) pos[j] = { x: PAD + (j - k) * (CARD_W + GAP), y };
          rows.push(row);
          y += CARD_H + GAP;
        }
        y += GROUP_GAP - GAP;
      }
      grid.style.height = (visible.length ? y + PAD : 0) + 'px';
      $('empty').hidden = visible.length > 0;
      for (const node of nodes.values()) node.remove();
      nodes.clear();
      render();
      counts();
    }

    // ---- Rendering: only rows within OVERSCAN pixels of the viewport exist.
    let scheduled = false;
    function schedule() { if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; render(); }); } }

    function render() {
      const top = window.scrollY - grid.offsetTop - OVERSCAN, bottom = window.scrollY - grid.offsetTop + window.innerHeight + OVERSCAN;
      let lo = 0, hi = rows.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (rows[mid].y + rows[mid].h < top) lo = mid + 1; else hi = mid; }
      const wanted = new Set();
      for (let r = lo; r < rows.length && rows[r].y <= bottom; r++) {
        const row = rows[r];
        if (row.kind === 'head') {
          const key = 'h:' + row.g.id;
          wanted.add(key);
          let node = nodes.get(key);
          if (!node) { node = makeHead(row); nodes.set(key, node); grid.appendChild(node); }
          node.style.top = row.y + 'px';
        } else {
          for (let j = row.start; j < row.end; j++) {
            const item = visible[j], key = 'c:' + item.e.id;
            wanted.add(key);
            let node = nodes.get(key);
            if (!node) { node = makeCard(item); nodes.set(key, node); grid.appendChild(node); }
            node.dataset.at = j;
            node.style.left = pos[j].x + 'px'; node.style.top = pos[j].y + 'px';
            paint(node, item, j);
          }
        }
      }
      for (const [key, node] of nodes) if (!wanted.has(key)) { node.remove(); nodes.delete(key); }
    }

    function el(tag, cls, text) {
      const node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text !== undefined && text !== null) node.textContent = String(text);
      return node;
    }
    const fmtBytes = (b) => b == null ? '' : b < 1024 ? b + ' B' : b < 1048576 ? (b / 1024).toFixed(1) + ' KB' : (b / 1048576).toFixed(2) + ' MB';
    const fmtSeconds = (s) => s == null ? '' : s < 60 ? s.toFixed(1) + ' s' : Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
    const joinDot = (parts) => parts.filter((p) => p !== null && p !== undefined && p !== '').join(' · ');

    function makeHead(row) {
      const g = row.g, node = el('div', 'ghead');
      node.dataset.group = g.id;
      const first = g.entries.find((e) => e.role === 'result') || g.entries[0] || {};
      const line = el('div');
      line.appendChild(el('span', 'glabel', g.label));
      const results = g.entries.filter((e) => e.role === 'result').length, refs = g.entries.length - results;
      line.appendChild(el('span', 'gstatus' + (g.status === 'failed' ? ' failed' : ''),
        joinDot([g.status, results + (results === 1 ? ' result' : ' results'), refs ? refs + (refs === 1 ? ' reference' : ' references') : '', g.message])));
      node.appendChild(line);
      node.appendChild(el('div', 'gprompt', first.prompt || ''));
      node.style.height = (HEAD_H - 8) + 'px';
      return node;
    }

    function makeCard(item) {
      const e = item.e, node = el('div', 'card ' + e.role);
      node.dataset.id = e.id;
      node.style.width = CARD_W + 'px'; node.style.height = CARD_H + 'px';
      const thumb = el('div', 'thumb');
      if (e.role === 'reference') thumb.dataset.role = 'reference' + (e.reference_role && e.reference_role !== 'image' ? ' · ' + e.reference_role : '');
      if (e.thumbnail) {
        const img = document.createElement('img');
        img.loading = 'lazy'; img.decoding = 'async'; img.alt = e.name; img.src = e.thumbnail;
        thumb.appendChild(img);
      } else {
        thumb.appendChild(el('div', 'missing', e.error || (e.href.startsWith('http') ? e.href : 'no thumbnail')));
      }
      thumb.appendChild(el('span', 'verdict'));
      node.appendChild(thumb);
      const meta = el('div', 'meta');
      const add = (cls, text, title) => { const d = el('div', cls, text); if (title) d.title = title; meta.appendChild(d); return d; };
      add('f-name', joinDot([e.role === 'reference' ? 'reference' : (e.index != null ? '#' + e.index : ''), e.name]));
      if (e.task_id) add('f-task', e.task_id, 'task id (click to copy)');
      add('f-prompt', e.prompt || '', e.prompt || '');
      add('f-negative', e.negative_prompt ? '− ' + e.negative_prompt : '', e.negative_prompt || '');
      add('f-settings', joinDot([e.model, e.aspect_ratio, e.resolution]));
      add('f-reference dim', joinDot([e.image_reference, e.image_fidelity != null ? 'image ' + e.image_fidelity : '', e.human_fidelity != null ? 'human ' + e.human_fidelity : '']));
      add('f-cost dim', joinDot([e.final_unit_deduction != null ? e.final_unit_deduction + ' units' : '', fmtSeconds(e.wall_time_seconds)]));
      add('f-size dim', joinDot([e.width != null ? e.width + '×' + e.height : '', fmtBytes(e.bytes), e.format]));
      node.appendChild(meta);
      return node;
    }

    function paint(node, item, j) {
      const v = verdictOf(item);
      node.classList.toggle('pick', v === 'pick');
      node.classList.toggle('reject', v === 'reject');
      node.classList.toggle('selected', selected.has(item.e.id));
      node.classList.toggle('cursor', j === cursor);
      node.querySelector('.verdict').textContent = v === 'pick' ? 'PICK' : v === 'reject' ? 'REJECT' : '';
    }
    function repaint() { for (const node of nodes.values()) if (node.dataset.at !== undefined && node.classList.contains('card')) { const j = +node.dataset.at; if (visible[j]) paint(node, visible[j], j); } counts(); }

    function counts() {
      let pick = 0, reject = 0, total = 0;
      for (const it of items) if (it.e.role === 'result') { total++; const v = verdictOf(it); if (v === 'pick') pick++; else if (v === 'reject') reject++; }
      $('counts').textContent = `${total} results in ${G.groups.length} groups · ${pick} picked · ${reject} rejected · ${total - pick - reject} unreviewed · showing ${visible.length}`;
    }

    // ---- Cursor, selection, verdicts.
    function moveTo(j, extend) {
      if (!visible.length) return;
      j = Math.max(0, Math.min(visible.length - 1, j));
      cursor = j;
      if (extend) selectRange(anchor, j); else { selected.clear(); anchor = j; }
      reveal(j);
      repaint();
      if (!$('lightbox').hidden) showLightbox();
    }
    function selectRange(a, b) {
      selected.clear();
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      for (let k = Math.max(0, lo); k <= hi; k++) if (visible[k].e.role === 'result') selected.add(visible[k].e.id);
    }
    function reveal(j) {
      const p = pos[j]; if (!p) return;
      const top = grid.offsetTop + p.y, barH = $('bar').offsetHeight;
      if (top - barH < window.scrollY) window.scrollTo(0, top - barH - HEAD_H);
      else if (top + CARD_H > window.scrollY + window.innerHeight) window.scrollTo(0, top + CARD_H - window.innerHeight + GAP);
      render();
    }
    function targets() {
      const list = selected.size ? [...selected].map((id) => byId.get(id)) : (cursor >= 0 ? [visible[cursor]] : []);
      return list.filter((it) => it && it.e.role === 'result');
    }
    function setVerdict(v) {
      const list = targets();
      if (!list.length) return;
      const toggleOff = list.every((it) => verdictOf(it) === v);
      undo.push(list.map((it) => [it.e.id, verdicts[it.e.id] || null]));
      for (const it of list) { if (toggleOff) delete verdicts[it.e.id]; else verdicts[it.e.id] = v; }
      save();
      afterVerdict();
    }
    function undoLast() {
      const step = undo.pop(); if (!step) return;
      for (const [id, v] of step) { if (v) verdicts[id] = v; else delete verdicts[id]; }
      save();
      afterVerdict();
    }
    function afterVerdict() {
      if (filter.verdict !== 'all') {
        const current = visible[cursor];
        applyFilter(current);
      } else {
        repaint();
      }
      if (!$('lightbox').hidden) showLightbox();
    }

    // ---- Lightbox.
    function showLightbox() {
      const item = visible[cursor]; if (!item) return;
      const e = item.e;
      $('lightbox').hidden = false;
      const img = $('lb-img');
      if (e.href.startsWith('http')) { img.removeAttribute('src'); img.alt = e.href; } else { img.src = e.href; img.alt = e.name; }
      const dl = document.createElement('dl');
      const pairs = [['verdict', verdictOf(item) === 'none' ? 'unreviewed' : verdictOf(item)], ['group', item.g.label], ['role', e.role + (e.reference_role ? ' (' + e.reference_role + ')' : '')],
        ['task id', e.task_id], ['index', e.index], ['file', e.name], ['prompt', e.prompt], ['negative prompt', e.negative_prompt], ['model', e.model],
        ['aspect ratio', e.aspect_ratio], ['resolution', e.resolution], ['reference kind', e.image_reference], ['image fidelity', e.image_fidelity],
        ['human fidelity', e.human_fidelity], ['final unit deduction', e.final_unit_deduction], ['wall time', fmtSeconds(e.wall_time_seconds)],
        ['dimensions', e.width != null ? e.width + ' × ' + e.height : null], ['file size', fmtBytes(e.bytes)], ['error', e.error]];
      for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== '') { dl.appendChild(el('dt', '', k)); dl.appendChild(el('dd', 'lb-' + k.replace(/ /g, '-'), v)); }
      const meta = $('lb-meta'); meta.replaceChildren(dl);
    }
    function hideLightbox() { $('lightbox').hidden = true; $('lb-img').removeAttribute('src'); }

    // ---- Exports.
    const verdictName = (it) => ({ pick: 'picked', reject: 'rejected', none: 'unreviewed' })[verdictOf(it)];
    function exportRecords() {
      return items.filter((it) => it.e.role === 'result').map((it) => ({ id: it.e.id, verdict: verdictName(it), task_id: it.e.task_id || null,
        index: it.e.index ?? null, line: it.e.line ?? null, file: it.e.href, prompt: it.e.prompt || null, model: it.e.model || null }));
    }
    function csvCell(v) { const s = v === null || v === undefined ? '' : String(v); return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }
    function exportCSV() {
      const head = ['id', 'verdict', 'task_id', 'index', 'line', 'file', 'prompt', 'model'];
      return [head.join(',')].concat(exportRecords().map((r) => head.map((k) => csvCell(r[k])).join(','))).join('\r\n') + '\r\n';
    }
    const quote = (s) => /^[A-Za-z0-9_\/.:=,+@%-]+$/.test(String(s)) ? String(s) : "'" + String(s).replace(/'/g, "'\\''") + "'";
    function regenerateCommands() {
      const out = [];
      for (const g of G.groups) {
        const rejected = g.entries.filter((e) => e.role === 'result' && verdicts[e.id] === 'reject');
        if (!rejected.length) continue;
        const r = g.request || {};
        const prompt = r.prompt || (rejected[0] && rejected[0].prompt);
        out.push('# ' + g.label + ': rejected ' + rejected.map((e) => e.index != null ? '#' + e.index : e.name).join(' '));
        if (!prompt) { out.push('# (no prompt recorded for this group: cannot regenerate)'); continue; }
        for (let left = rejected.length; left > 0; left -= 9) {
          const a = ['klingkit', 'generate', '--prompt', quote(prompt)];
          const opt = (flag, v) => { if (v !== null && v !== undefined && v !== '') a.push(flag, quote(v)); };
          opt('--negative-prompt', r.negative_prompt); opt('--model', r.model); opt('--aspect-ratio', r.aspect_ratio); opt('--resolution', r.resolution);
          opt('--image', r.image); opt('--image-reference', r.image_reference); opt('--image-fidelity', r.image_fidelity); opt('--human-fidelity', r.human_fidelity);
          for (const s of r.subjects || []) opt('--subject', s);
          opt('--scene', r.scene); opt('--style', r.style);
          for (const id of r.element_ids || []) opt('--element-id', id);
          if (r.watermark) a.push('--watermark');
          a.push('--n', String(Math.min(9, left)));
          opt('--out', g.output_folder);
          out.push(a.join(' '));
        }
      }
      return out.length ? out.join('\n') + '\n' : '# nothing rejected yet\n';
    }
    function offer(title, text, name, type) {
      $('export-title').textContent = title;
      $('export-text').value = text;
      $('export').hidden = false;
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([text], { type }));
      a.download = name;
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    }

    function copyText(text, node) {
      const done = () => { if (node) { node.classList.add('copied'); setTimeout(() => node.classList.remove('copied'), 600); } };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, () => {}); return; }
      const t = document.createElement('textarea'); t.value = text; document.body.appendChild(t); t.select();
      try { document.execCommand('copy'); done(); } catch (_) {} t.remove();
    }

    // ---- Events.
    grid.addEventListener('click', (ev) => {
      const card = ev.target.closest('.card'); if (!card) return;
      const j = +card.dataset.at;
      if (ev.target.closest('.f-task')) copyText(visible[j].e.task_id, ev.target.closest('.f-task'));
      if (ev.shiftKey && anchor >= 0) { cursor = j; selectRange(anchor, j); }
      else if (ev.ctrlKey || ev.metaKey) { const id = visible[j].e.id; if (selected.has(id)) selected.delete(id); else if (visible[j].e.role === 'result') selected.add(id); cursor = j; anchor = j; }
      else { selected.clear(); cursor = j; anchor = j; }
      repaint();
    });
    grid.addEventListener('dblclick', (ev) => { const card = ev.target.closest('.card'); if (card) { cursor = +card.dataset.at; repaint(); showLightbox(); } });
    document.addEventListener('keydown', (ev) => {
      if (ev.target.closest && ev.target.closest('input, select, textarea')) { if (ev.key === 'Escape') ev.target.blur(); return; }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const key = ev.key;
      let handled = true;
      if (key === 'ArrowRight') moveTo(cursor + 1, ev.shiftKey);
      else if (key === 'ArrowLeft') moveTo(cursor - 1, ev.shiftKey);
      else if (key === 'ArrowDown' && $('lightbox').hidden) moveTo(cursor + cols, ev.shiftKey);
      else if (key === 'ArrowUp' && $('lightbox').hidden) moveTo(cursor - cols, ev.shiftKey);
      else if (key === 'p' || key === 'P') setVerdict('pick');
      else if (key === 'x' || key === 'X') setVerdict('reject');
      else if (key === 'u' || key === 'U') undoLast();
      else if (key === 'Enter' || key === ' ') { if ($('lightbox').hidden) showLightbox(); else hideLightbox(); }
      else if (key === 'Escape') { if (!$('export').hidden) $('export').hidden = true; else if (!$('lightbox').hidden) hideLightbox(); else { selected.clear(); repaint(); } }
      else handled = false;
      if (handled) ev.preventDefault();
    });
    $('lb-close').onclick = hideLightbox;
    $('lb-prev').onclick = () => moveTo(cursor - 1, false);
    $('lb-next').onclick = () => moveTo(cursor + 1, false);
    $('lightbox').addEventListener('click', (ev) => { if (ev.target === $('lightbox')) hideLightbox(); });
    for (const b of document.querySelectorAll('#verdict-filter button')) b.onclick = () => {
      for (const o of document.querySelectorAll('#verdict-filter button')) o.classList.toggle('on', o === b);
      filter.verdict = b.dataset.verdict; applyFilter(); b.blur();
    };
    const taskSelect = $('task-filter');
    for (const g of G.groups) { const o = document.createElement('option'); o.value = g.id; o.textContent = g.label; taskSelect.appendChild(o); }
    taskSelect.onchange = () => { filter.group = taskSelect.value; applyFilter(); };
    let typing = 0;
    $('text-filter').addEventListener('input', (ev) => { clearTimeout(typing); typing = setTimeout(() => { filter.text = ev.target.value; applyFilter(); }, 120); });
    $('export-json').onclick = () => offer('JSON', JSON.stringify({ gallery: G.id, title: G.title, exported: new Date().toISOString(), entries: exportRecords() }, null, 2) + '\n', 'klingkit-picks.json', 'application/json');
    $('export-csv').onclick = () => offer('CSV', exportCSV(), 'klingkit-picks.csv', 'text/csv');
    $('export-command').onclick = () => offer('Regenerate the rejected results', regenerateCommands(), 'klingkit-regenerate.sh', 'text/x-shellscript');
    $('export-close').onclick = () => { $('export').hidden = true; };
    $('export-copy').onclick = (ev) => copyText($('export-text').value, ev.target);
    window.addEventListener('scroll', schedule, { passive: true });
    let resizing = 0;
    window.addEventListener('resize', () => { clearTimeout(resizing); resizing = setTimeout(layout, 100); });
    window.addEventListener('storage', (ev) => { if (ev.key === storeKey) { try { verdicts = JSON.parse(ev.newValue || '{}').verdicts || {}; } catch (_) {} repaint(); } });

    window.klingkitGallery = {
      get verdicts() { return Object.assign({}, verdicts); },
      get visibleIds() { return visible.map((it) => it.e.id); },
      get cursorId() { return visible[cursor] ? visible[cursor].e.id : null; },
      get selectedIds() { return [...selected]; },
      get renderedCards() { return nodes.size; },
      regenerateCommands, exportCSV, exportRecords,
      reveal(id) { const j = visible.findIndex((it) => it.e.id === id); if (j >= 0) { cursor = j; anchor = j; selected.clear(); reveal(j); repaint(); } return j; },
    };
    applyFilter();
    })();
    """#
}
