// The leaders' web view: reads the JSON API and fills the page. No framework, no CDN, no inline code.
// Signed in either by Telegram (the Mini App's initData, sent as "Authorization: tma ...")
// or by the session cookie a one-time link set.
'use strict';
(function () {
  var COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  var state = { tma: null, csrf: '', unit: '', period: 'thang', page: 1, tab: 'overview', me: null };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  var LEVELS = { province: 'Tỉnh', commune: 'Xã', team: 'Tổ', member: 'Thành viên' };
  function amount(v, unit) {
    if (v === null || v === undefined) return 'chưa có số liệu';
    return String(v).replace('.', ',') + (unit === '%' ? '%' : ' ' + unit);
  }
  function num(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('vi-VN'); }
  function vnDate(iso) { if (!iso) return ''; var p = iso.split('-'); return p[2] + '/' + p[1] + '/' + p[0]; }

  // --- Telegram Mini App ------------------------------------------------------------------------
  function readInitData() {
    var params = new URLSearchParams(location.hash.slice(1));
    var data = params.get('tgWebAppData');
    if (data) {
      try { sessionStorage.setItem('tma', data); } catch (e) { /* private mode: keep it in memory */ }
      history.replaceState(null, '', location.pathname + location.search);
      return data;
    }
    try { return sessionStorage.getItem('tma'); } catch (e) { return null; }
  }

  function telegramEvent(type, data) {
    var body = JSON.stringify({ eventType: type, eventData: data || {} });
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data || {}));
      else if (window.parent !== window) window.parent.postMessage(body, '*');
    } catch (e) { /* not inside Telegram */ }
  }

  // --- API --------------------------------------------------------------------------------------
  var OFFLINE = 'Không kết nối được với máy chủ. Bạn kiểm tra mạng (wifi hoặc 4G) rồi bấm lại nhé.';
  var SERVER_ERROR = 'Máy chủ đang bận hoặc gặp lỗi. Bạn đợi ít phút rồi thử lại nhé';

  // Buttons that change data are disabled until the answer comes: a second press would send it twice.
  function busy(buttons, promise) {
    var was = buttons.map(function (b) { var d = b.disabled; b.disabled = true; return d; });
    return promise.then(function () { buttons.forEach(function (b, i) { b.disabled = was[i]; }); });
  }

  function api(path, options) {
    options = options || {};
    var headers = {};
    if (state.tma) headers.Authorization = 'tma ' + state.tma;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['X-CSRF-Token'] = state.csrf;
    }
    return fetch('/app/api/' + path, {
      method: options.body !== undefined ? 'POST' : 'GET', headers: headers, credentials: 'same-origin',
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined, cache: 'no-store'
    }).catch(function () {  // no network: the browser's own words ("Failed to fetch") are English
      throw new Error(OFFLINE);
    }).then(function (resp) {
      if (options.raw && resp.ok) return resp;
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) {
          var err = new Error(body.error || (SERVER_ERROR + ' (mã ' + resp.status + ')'));
          err.status = resp.status;
          throw err;
        }
        return body;
      });
    });
  }

  function query(extra) {
    var q = new URLSearchParams({ period: state.period, unit: state.unit });
    Object.keys(extra || {}).forEach(function (k) { if (extra[k] !== '' && extra[k] != null) q.set(k, extra[k]); });
    return q.toString();
  }

  function say(text, warn) {
    var m = $('message');
    m.textContent = text;
    m.className = warn ? 'message warn' : 'message';
    m.hidden = !text;
  }

  function fail(err) {
    if (err.status === 401) { signedOut(err.message); return; }
    say(err.message || 'Có lỗi, bạn thử lại nhé.', true);
  }

  function signedOut(text) {
    $('app').hidden = true;
    var s = $('signin');
    s.textContent = text;
    s.hidden = false;
  }

  // --- tables -----------------------------------------------------------------------------------
  function table(id, headers, rows) {
    var t = $(id);
    t.textContent = '';
    var head = el('tr', {}, headers.map(function (h, i) { return el('th', { text: h, class: i ? 'n' : '' }); }));
    t.appendChild(el('thead', {}, [head]));
    var body = el('tbody');
    if (!rows.length) body.appendChild(el('tr', {}, [el('td', { text: 'Chưa có số liệu.', colspan: String(headers.length) })]));
    rows.forEach(function (cells) {
      body.appendChild(el('tr', {}, cells.map(function (c, i) {
        var td = el('td', { class: i ? 'n' : '' });
        if (c instanceof Node) td.appendChild(c); else td.textContent = c;
        return td;
      })));
    });
    t.appendChild(body);
  }

  // --- overview ---------------------------------------------------------------------------------
  function loadOverview() {
    return api('report?' + query()).then(function (r) {
      $('title').textContent = r.unit.name + ', ' + r.period.label;
      $('total-records').textContent = num(r.totals.records);
      $('total-households').textContent = num(r.totals.households);
      $('people-card').hidden = r.totals.people == null;
      $('total-people').textContent = num(r.totals.people);
      var done = r.outcomes.filter(function (o) { return o.key === 'done'; })[0];
      $('total-done').textContent = num(done ? done.records : 0);
      $('total-followups').textContent = num(r.followups.open);
      $('excel').disabled = !r.excel;
      $('excel-note').hidden = r.excel;
      $('breakdown-title').textContent = r.breakdown.title;
      $('detail').hidden = !r.detail;
      $('no-detail').hidden = r.detail;
      var people = r.breakdown.rows.some(function (row) { return row.people !== undefined; });
      table('breakdown', [LEVELS[r.breakdown.level] || '', 'Lượt', 'Hộ'].concat(people ? ['Người'] : []),
        r.breakdown.rows.map(function (row) {
          var name = row.name;
          if (row.unit) name = el('button', { type: 'button', 'data-unit': row.unit, text: row.name + ' ›' });
          else if (row.member) name = el('button', { type: 'button', 'data-member': String(row.member), text: row.name + ' ›' });
          return [name, num(row.records), num(row.households)].concat(people ? [num(row.people)] : []);
        }));
      table('villages', ['Thôn', 'Lượt', 'Hộ', 'Tỷ lệ phủ'], r.villages.map(function (v) {
        return [v.name, num(v.records), num(v.households),
          v.size ? num(v.households) + '/' + num(v.size) + ' (' + String(v.coverage).replace('.', ',') + '%)' : 'chưa đặt số hộ'];
      }));
      table('outcomes', ['Kết quả', 'Lượt'], r.outcomes.map(function (o) { return [o.name, num(o.records)]; }));
      table('skills', ['Kỹ năng số', 'Lượt dịch vụ', 'Hộ'], r.skills.map(function (s) { return [s.name, num(s.times), num(s.households)]; }));
      table('services', ['Dịch vụ', 'Lượt'], r.services.map(function (s) { return [s.name, num(s.times)]; }));
      var ind = $('indicators');
      ind.textContent = '';
      if (r.indicators && r.indicators.length) {  // cards, not a wide table: names are long
        ind.appendChild(el('h3', { text: 'Chỉ tiêu' }));
        ind.appendChild(el('ol', { id: 'indicator-list', class: 'records' }, r.indicators.map(function (i) {
          var parts = ['Đạt được: ' + amount(i.value, i.unit)];
          if (i.target != null) parts.push('mục tiêu ' + amount(i.target, i.unit));
          if (i.achieved_pct != null) parts.push(String(i.achieved_pct).replace('.', ',') + '% kế hoạch');
          return el('li', { 'data-id': i.id }, [el('div', { class: 'head', text: i.name }),
            el('div', { class: 'value', text: parts.join(' · ') })]);
        })));
      }
    });
  }

  // --- chart (SVG built here from the same numbers as /bieudo) ---------------------------------
  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function loadChart() {
    return api('chart?' + query()).then(function (c) {
      $('chart-title').textContent = 'Lượt hỗ trợ theo kỹ năng số mỗi ' + ({ month: 'tháng', week: 'tuần' }[c.step] || 'ngày') + ': ' +
        c.unit.name + ', ' + c.period.label;
      var n = c.buckets.length, barW = 16, gap = 6, left = 36, top = 10, h = 200;
      var width = Math.max(320, left + n * (barW + gap) + 10), height = h + top + 40;
      var totals = c.buckets.map(function (_, i) { return c.series.reduce(function (s, x) { return s + x.counts[i]; }, 0); });
      var max = Math.max(1, Math.max.apply(null, totals.concat([0])));
      var root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img',
        'aria-label': $('chart-title').textContent, id: 'chart-svg' });
      [0, Math.ceil(max / 2), max].forEach(function (v) {
        var y = top + h - (v / max) * h;
        root.appendChild(svg('line', { x1: left, x2: width, y1: y, y2: y, stroke: '#ddd' }));
        var t = svg('text', { x: left - 4, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#333' });
        t.textContent = String(v);
        root.appendChild(t);
      });
      var every = Math.max(1, Math.ceil(n / 8));
      c.buckets.forEach(function (b, i) {
        var x = left + i * (barW + gap) + gap / 2, base = top + h;
        c.series.forEach(function (s, k) {
          var v = s.counts[i];
          if (!v) return;
          var bh = (v / max) * h;
          base -= bh;
          var r = svg('rect', { x: x, y: base, width: barW, height: bh, fill: COLOURS[k % COLOURS.length], 'data-count': v });
          var tip = svg('title', {});
          tip.textContent = vnDate(b) + ': ' + s.name + ' ' + v;
          r.appendChild(tip);
          root.appendChild(r);
        });
        if (i % every === 0) {
          var lab = svg('text', { x: x + barW / 2, y: top + h + 16, 'text-anchor': 'middle', 'font-size': 10, fill: '#333' });
          lab.textContent = c.step === 'month' ? vnDate(b).slice(3) : vnDate(b).slice(0, 5);
          root.appendChild(lab);
        }
      });
      if (!totals.some(Boolean)) {
        var empty = svg('text', { x: width / 2, y: top + h / 2, 'text-anchor': 'middle', 'font-size': 14, fill: '#555' });
        empty.textContent = 'Chưa có lượt hỗ trợ nào';
        root.appendChild(empty);
      }
      var box = $('chart');
      box.textContent = '';
      box.appendChild(root);
      var legend = $('legend');
      legend.textContent = '';
      c.series.forEach(function (s, k) {
        var sum = s.counts.reduce(function (a, b) { return a + b; }, 0);
        if (sum) legend.appendChild(el('li', {}, [el('span', { class: 'sw sw' + (k % COLOURS.length) }), s.name + ': ' + num(sum)]));
      });
    });
  }

  // --- records ----------------------------------------------------------------------------------
  var optionsFilled = '';

  function fillOptions(opts) {
    if (optionsFilled === state.unit) return;
    optionsFilled = state.unit;
    var form = $('filters');
    [['member', opts.members, 'id'], ['village', opts.villages, 'id'], ['service', opts.services, 'code'],
      ['outcome', opts.outcomes, 'code'], ['review', opts.reviews || [], 'code']].forEach(function (spec) {
      var select = form.elements[spec[0]], keep = select.value;
      while (select.options.length > 1) select.remove(1);
      spec[1].forEach(function (o) { select.appendChild(el('option', { value: String(o[spec[2]]), text: o.name })); });
      select.value = keep;
      if (select.selectedIndex < 0) select.value = '';
    });
  }

  function loadRecords() {
    var form = $('filters');
    var f = { member: form.elements.member.value, village: form.elements.village.value,
      service: form.elements.service.value, outcome: form.elements.outcome.value,
      review: form.elements.review.value, page: state.page };
    return api('records?' + query(f)).then(function (r) {
      fillOptions(r.options);
      $('records-count').textContent = num(r.total) + ' phiếu';
      $('records-count').setAttribute('data-total', String(r.total));
      var list = $('records');
      list.textContent = '';
      r.rows.forEach(function (row) {
        list.appendChild(el('li', { 'data-id': String(row.id) }, [
          el('div', { class: 'head', text: 'Phiếu ' + row.id + ' · ' + vnDate(row.day) + ' · ' + row.member }),
          el('div', { text: row.household + ' · ' + row.village + (state.unit === 'all' ? ' · ' + row.team : '') }),
          el('div', { text: row.services.join(', ') }),
          el('div', { text: row.outcome + (row.followup_on ? ', hẹn ' + vnDate(row.followup_on) : '') +
            (row.review ? ' · ' + row.review : '') }),
          row.note ? el('div', { class: 'muted', text: row.note }) : el('span')
        ]));
      });
      $('page').textContent = 'Trang ' + r.page + '/' + r.pages;
      $('prev').disabled = r.page <= 1;
      $('next').disabled = r.page >= r.pages;
      state.page = r.page;
    });
  }

  function loadFollowups() {
    return api('followups?' + query()).then(function (r) {
      var list = $('followups');
      list.textContent = '';
      if (!r.rows.length) list.appendChild(el('li', { text: 'Không có hẹn quay lại nào đang mở.' }));
      r.rows.forEach(function (row) {
        list.appendChild(el('li', { class: row.due ? 'due' : '' }, [
          el('div', { class: 'head', text: (row.due ? 'Đã đến hẹn ' : 'Hẹn ') + vnDate(row.on) + ' · ' + row.household }),
          el('div', { text: row.village + ' · ' + row.member + ' · phiếu ' + row.id + ' ngày ' + vnDate(row.helped_on) })
        ]));
      });
    });
  }

  // --- review queue (the same actions as /duyet) --------------------------------------------------
  var shown = [];

  function loadReview() {
    return api('review?' + query()).then(function (r) {
      var c = r.counts;
      $('review-count').textContent = num(c.new || 0) + ' phiếu mới, ' + num(c.approved || 0) + ' đã duyệt, ' +
        num(c.fix || 0) + ' cần sửa.';
      shown = r.rows.map(function (row) { return row.id; });
      $('approve-all').hidden = !shown.length;
      var list = $('review');
      list.textContent = '';
      if (!r.rows.length) list.appendChild(el('li', { text: 'Không có phiếu nào chờ duyệt.' }));
      r.rows.forEach(function (row) {
        var ok = el('button', { type: 'button', class: 'approve', text: '✅ Duyệt' });
        var note = el('input', { type: 'text', maxlength: '150', placeholder: 'Cần sửa gì? (nhắn cho thành viên)',
          'aria-label': 'Lời nhắn cần sửa' });
        var fix = el('button', { type: 'button', class: 'fix', text: '✏️ Cần sửa' });
        ok.addEventListener('click', function () { review('review/approve', { ids: [row.id] }, [ok, fix]); });
        fix.addEventListener('click', function () { review('review/fix', { ids: [row.id], note: note.value }, [ok, fix]); });
        list.appendChild(el('li', { 'data-id': String(row.id) }, [
          el('div', { class: 'head', text: 'Phiếu ' + row.id + ' · ' + vnDate(row.day) + ' · ' + row.member }),
          el('div', { text: row.household + ' · ' + row.village }),
          el('div', { text: row.services.join(', ') + ' · ' + row.outcome }),
          note, el('div', { class: 'actions' }, [ok, fix])
        ]));
      });
    });
  }

  function review(path, body, buttons) {
    return busy(buttons.concat([$('approve-all')]), api(path + '?' + query(), { body: body })
      .then(function (r) { say(r.message); return loadReview(); }).catch(fail));
  }

  // --- inbox ------------------------------------------------------------------------------------
  function loadInbox() {
    return api('inbox').then(function (r) {
      $('inbox-count').textContent = r.total ? num(r.total) + ' câu hỏi, ' + num(r.groups.length + r.more) + ' nhóm' : '';
      var list = $('inbox');
      list.textContent = '';
      if (!r.groups.length) list.appendChild(el('li', { text: 'Không còn câu hỏi nào đang chờ.' }));
      r.groups.forEach(function (g) {
        var select = el('select', { 'aria-label': 'Mục trong kho kiến thức' },
          g.candidates.map(function (c) { return el('option', { value: c.id, text: c.title }); }));
        var add = el('button', { type: 'button', class: 'add', text: 'Thêm làm cách hỏi' });
        var skip = el('button', { type: 'button', class: 'skip', text: 'Bỏ qua' });
        add.disabled = !g.candidates.length;
        add.addEventListener('click', function () { act('inbox/add', { ids: g.ids, entry: select.value }, [add, skip]); });
        skip.addEventListener('click', function () { act('inbox/skip', { ids: g.ids }, [add, skip]); });
        var parts = [el('div', { class: 'head', text: '"' + g.question + '" (' + g.count + ' lần)' })];
        if (g.variants.length) parts.push(el('div', { class: 'muted', text: 'cũng hỏi: "' + g.variants[0] + '"' }));
        if (g.candidates.length) parts.push(select);
        parts.push(el('div', { class: 'actions' }, [add, skip]));
        list.appendChild(el('li', {}, parts));
      });
    });
  }

  function act(path, body, buttons) {
    return busy(buttons, api(path, { body: body }).then(function (r) { say(r.message); return loadInbox(); }).catch(fail));
  }

  // --- excel ------------------------------------------------------------------------------------
  function download() {
    $('excel').disabled = true;
    api('export.xlsx?' + query(), { raw: true }).then(function (resp) {
      var cd = resp.headers.get('Content-Disposition') || '';
      var m = /filename\*=UTF-8''([^;]+)/.exec(cd);
      var name = m ? decodeURIComponent(m[1]) : 'baocao.xlsx';
      return resp.blob().then(function (blob) {
        var a = el('a', { href: URL.createObjectURL(blob), download: name });
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
        say('Đã tải tệp ' + name + '.');
      });
    }).catch(fail).then(function () { $('excel').disabled = false; });
  }

  // --- navigation -------------------------------------------------------------------------------
  var loaders = { overview: loadOverview, chart: loadChart, records: loadRecords, followups: loadFollowups,
    review: loadReview, inbox: loadInbox };

  // The phone's back button returns to the tab, unit and period seen before (it used to leave the page). The
  // address stays /app/: nothing personal in a URL.
  function remember(tab) {
    var was = history.state || {};
    if (was.tab === tab && was.unit === state.unit && was.period === state.period) return;
    history.pushState({ tab: tab, unit: state.unit, period: state.period }, '', location.pathname + location.search);
  }

  function restore(e) {
    var s = e.state;
    if (!s || !s.tab || !state.me) return;
    state.unit = s.unit;
    state.period = s.period;
    state.page = 1;
    $('unit').value = s.unit;
    var listed = Array.prototype.some.call($('period').options, function (o) { return o.value === s.period; });
    $('period').value = listed ? s.period : 'custom';
    $('custom').hidden = listed;
    say('');
    show(s.tab, true);
  }

  function show(tab, back) {
    if (!back) remember(tab);
    state.tab = tab;
    Array.prototype.forEach.call(document.querySelectorAll('.tabs button'), function (b) {
      b.classList.toggle('active', b.getAttribute('data-tab') === tab);
    });
    Object.keys(loaders).forEach(function (t) { $('tab-' + t).hidden = t !== tab; });
    if ($('message').className.indexOf('warn') >= 0) say('');  // an earlier refusal is not about what loads now
    document.body.setAttribute('data-loading', '1');
    return loaders[tab]().catch(fail).then(function () { document.body.removeAttribute('data-loading'); });
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  // A date field's value: yyyy-mm-dd from the calendar, or dd/mm/yyyy typed where the browser shows a plain
  // text box. [year, month, day] numbers, or null.
  function dayOf(value) {
    var m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value) || /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})$/.exec(value);
    if (!m) return null;
    return m[1].length === 4 ? [+m[1], +m[2], +m[3]] : [+m[3], +m[2], +m[1]];
  }
  function typed(d) { return pad(d[2]) + '/' + pad(d[1]) + '/' + d[0]; }
  function before(a, b) { return a[0] * 10000 + a[1] * 100 + a[2] < b[0] * 10000 + b[1] * 100 + b[2]; }

  function wire() {
    $('unit').addEventListener('change', function () { state.unit = this.value; state.page = 1; say(''); show(state.tab); });
    $('period').addEventListener('change', function () {
      $('custom').hidden = this.value !== 'custom';
      if (this.value !== 'custom') { state.period = this.value; state.page = 1; show(state.tab); }
    });
    $('apply').addEventListener('click', function () {
      var a = $('from').value.trim(), b = $('to').value.trim() || a;
      if (!a) { say('Bạn chọn ngày bắt đầu nhé.', true); return; }
      var from = dayOf(a), to = dayOf(b);
      if (!from || !to) { say('Bạn gõ ngày theo kiểu ngày/tháng/năm, ví dụ 01/11/2026.', true); return; }
      if (before(to, from)) { var t = from; from = to; to = t; }  // picked the other way round: same days
      state.period = typed(from) + '-' + typed(to);
      state.page = 1;
      show(state.tab);
    });
    Array.prototype.forEach.call(document.querySelectorAll('.tabs button'), function (b) {
      b.addEventListener('click', function () { say(''); show(b.getAttribute('data-tab')); });
    });
    $('breakdown').addEventListener('click', function (e) {
      var t = e.target;
      if (t.getAttribute('data-unit')) { state.unit = t.getAttribute('data-unit'); $('unit').value = state.unit; show('overview'); }
      if (t.getAttribute('data-member')) {
        $('filters').elements.member.value = t.getAttribute('data-member');
        state.page = 1;
        show('records');
      }
    });
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); state.page = 1; show('records'); });
    $('filters').addEventListener('reset', function () { setTimeout(function () { state.page = 1; show('records'); }, 0); });
    $('prev').addEventListener('click', function () { state.page -= 1; show('records'); });
    $('next').addEventListener('click', function () { state.page += 1; show('records'); });
    $('excel').addEventListener('click', download);
    $('approve-all').addEventListener('click', function () { review('review/approve', { ids: shown }, []); });
    window.addEventListener('popstate', restore);
    $('logout').addEventListener('click', function () {
      api('logout', { body: {} }).catch(function () {}).then(function () {
        try { sessionStorage.removeItem('tma'); } catch (e) { /* ignore */ }
        signedOut('Bạn đã đăng xuất.');
      });
    });
  }

  function start() {
    state.tma = readInitData();
    telegramEvent('web_app_ready');
    telegramEvent('web_app_expand');
    wire();
    api('me').then(function (me) {
      state.me = me;
      state.csrf = me.csrf;
      state.unit = me.unit;
      $('who').textContent = me.name + ' (' + (me.role_name || me.role) + ')';
      document.querySelector('.tabs button[data-tab=inbox]').hidden = !me.inbox;
      document.querySelector('.tabs button[data-tab=review]').hidden = !me.review;
      var select = $('unit');
      me.units.forEach(function (u) { select.appendChild(el('option', { value: u.key, text: u.name })); });
      select.value = me.unit;
      select.parentNode.hidden = me.units.length < 2;
      $('app').hidden = false;
      history.replaceState({ tab: 'overview', unit: state.unit, period: state.period }, '', location.pathname + location.search);
      return show('overview', true);
    }).catch(function (err) {
      if (err.status === 401 || err.status === 403 || err.status === 429) signedOut(err.message);
      else fail(err);
      document.body.removeAttribute('data-loading');
    });
  }

  document.addEventListener('DOMContentLoaded', start);
})();
