/*! Handoff share widget. Served by Handoff at /embed.js; see docs/API.md, "Share widget".
 *
 * <script src="https://handoff.example/embed.js" data-campaign="slug" data-token="..." async></script>
 *
 * The token comes from the business's backend (POST /api/v1/referrers/widget-token), never from
 * the browser. The widget talks to the Handoff server it was loaded from and nothing else; its
 * markup and styles live in a shadow root (styles through constructable style sheets, so a
 * strict Content-Security-Policy without 'unsafe-inline' still applies them); its one global is
 * window.HandoffWidget ({ open, close }).
 */
(function () {
  'use strict';
  if (window.HandoffWidget) return;

  var script = document.currentScript ||
    document.querySelector('script[data-campaign][src*="embed.js"]');
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var slug = script.getAttribute('data-campaign') || '';
  var token = script.getAttribute('data-token') || '';
  var preview = script.getAttribute('data-preview') === '1';
  var key = 'handoff-widget:' + slug + ':';
  var DAY = 86400000;
  var host = null;
  var shown = false;
  var data = null;

  // Storage can be blocked (private windows, strict settings): the widget then simply forgets.
  function stored(area, name) {
    try { return window[area].getItem(key + name); } catch (e) { return null; }
  }
  function store(area, name, value) {
    try { window[area].setItem(key + name, value); } catch (e) { /* forgotten */ }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    (children || []).forEach(function (child) {
      if (child == null) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  var CSS = [
    ':host{all:initial}',
    '.hw{box-sizing:border-box;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff;border:1px solid #c9c9c9;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.18);padding:16px;max-width:100%}',
    '.hw *{box-sizing:border-box;font:inherit}',
    '.hw-popup{position:fixed;right:16px;bottom:16px;width:360px;max-width:calc(100vw - 32px);max-height:calc(100vh - 32px);overflow:auto;z-index:2147483000;animation:hw-in .25s ease-out}',
    '.hw-bar{position:fixed;left:0;right:0;bottom:0;border-radius:0;border-width:1px 0 0;z-index:2147483000;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:10px 48px 10px 16px;animation:hw-in .25s ease-out}',
    '.hw-inline{box-shadow:none}',
    '@keyframes hw-in{from{transform:translateY(12px);opacity:0}to{transform:none;opacity:1}}',
    '@media (prefers-reduced-motion:reduce){.hw{animation:none}}',
    '.hw-head{background:var(--hw-brand,#0b5cad);color:var(--hw-brand-text,#fff);margin:-16px -16px 12px;padding:12px 44px 12px 16px;border-radius:11px 11px 0 0}',
    '.hw-bar .hw-head{margin:0;padding:4px 10px;border-radius:6px}',
    '.hw-title{margin:0;font-size:17px;font-weight:700}',
    '.hw-bar .hw-title{font-size:15px}',
    '.hw-reward{margin:0 0 10px}',
    '.hw-bar .hw-reward{margin:0}',
    '.hw-field{display:flex;flex-wrap:wrap;gap:4px 6px;align-items:center;margin:0 0 8px}',
    '.hw-bar .hw-field{margin:0}',
    '.hw-field label{flex-basis:100%;font-size:13px;font-weight:600}',
    '.hw-bar .hw-field label{flex-basis:auto}',
    '.hw-field input{flex:1;min-width:0;padding:6px 8px;border:1px solid #8a8a8a;border-radius:6px;background:#f7f7f7;color:#1a1a1a}',
    '.hw button,.hw a{color:inherit}',
    '.hw .hw-copy,.hw .hw-native{padding:6px 10px;border:0;border-radius:6px;background:var(--hw-brand,#0b5cad);color:var(--hw-brand-text,#fff);cursor:pointer;font-weight:600}',
    '.hw .hw-close{position:absolute;top:8px;right:8px;width:32px;height:32px;border:0;border-radius:6px;background:transparent;color:var(--hw-brand-text,#fff);font-size:20px;line-height:1;cursor:pointer}',
    '.hw-bar .hw-close{color:#1a1a1a;top:50%;transform:translateY(-50%)}',
    '.hw-inline .hw-close{display:none}',
    '.hw button:focus-visible,.hw a:focus-visible,.hw input:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}',
    '.hw-status{font-size:13px;min-height:1em;flex-basis:100%}',
    '.hw-bar .hw-status{flex-basis:auto}',
    '.hw-qr{width:140px;height:140px;margin:4px 0 8px}',
    '.hw-qr svg{width:100%;height:100%}',
    '.hw-bar .hw-qr{display:none}',
    '.hw-share{list-style:none;margin:0 0 8px;padding:0;display:flex;flex-wrap:wrap;gap:6px}',
    '.hw-bar .hw-share{margin:0}',
    '.hw-share a{display:inline-block;padding:4px 8px;border:1px solid #8a8a8a;border-radius:6px;text-decoration:none;font-size:13px}',
    '.hw-portal{font-size:13px}',
    '.hw-bar .hw-portal{display:none}'
  ].join('\n');

  function styleRoot(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      // Browsers without constructable style sheets (a host CSP may block this fallback).
      root.appendChild(el('style', {}, [CSS]));
    }
  }

  // The QR arrives as SVG markup from the Handoff server; it is parsed as XML and only shapes
  // are kept, so nothing in it can run.
  function qrNode(markup) {
    var doc = new DOMParser().parseFromString(markup, 'image/svg+xml');
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== 'svg') return null;
    var unsafe = svg.querySelectorAll('script,foreignObject,image,use,a');
    for (var i = 0; i < unsafe.length; i++) unsafe[i].remove();
    var all = [svg].concat(Array.prototype.slice.call(svg.querySelectorAll('*')));
    all.forEach(function (node) {
      Array.prototype.slice.call(node.attributes).forEach(function (attr) {
        if (/^on/i.test(attr.name) || /href$/i.test(attr.name)) node.removeAttribute(attr.name);
      });
    });
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'QR code of your referral link');
    return document.importNode(svg, true);
  }

  function copyField(id, label, value, statusId) {
    var input = el('input', { id: id, type: 'text', readonly: '', value: value });
    var status = el('span', { id: statusId, class: 'hw-status', role: 'status' });
    var button = el('button', { type: 'button', class: 'hw-copy' }, ['Copy']);
    button.setAttribute('aria-label', 'Copy ' + label.toLowerCase());
    var timer = null;
    button.addEventListener('click', function () {
      var done = function (ok) {
        status.textContent = ok ? 'Copied' : 'Select the text and copy it';
        button.textContent = ok ? 'Copied' : 'Copy';
        clearTimeout(timer);
        timer = setTimeout(function () { status.textContent = ''; button.textContent = 'Copy'; }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(function () { done(true); }, function () { input.select(); done(false); });
      } else {
        input.select();
        done(false);
      }
    });
    input.addEventListener('focus', function () { input.select(); });
    return el('div', { class: 'hw-field' }, [el('label', { for: id }, [label]), input, button, status]);
  }

  function render(mode) {
    var b = data.branding;
    var who = data.referrer;
    var root = host.attachShadow({ mode: 'open' });
    styleRoot(root);
    host.style.setProperty('--hw-brand', b.brand_color);
    host.style.setProperty('--hw-brand-text', b.brand_text_color);
    var popup = mode === 'popup';
    var box = el('div', {
      class: 'hw hw-' + mode,
      role: popup ? 'dialog' : 'region',
      'aria-labelledby': 'hw-title',
      'data-mode': mode
    });
    if (popup) box.setAttribute('aria-modal', 'false');
    var close = el('button', { type: 'button', class: 'hw-close', 'aria-label': 'Close' }, ['\u00d7']);
    close.addEventListener('click', function () { dismiss(); });
    box.appendChild(close);
    box.appendChild(el('div', { class: 'hw-head' }, [el('h2', { id: 'hw-title', class: 'hw-title' }, [b.headline])]));
    if (b.reward_text) box.appendChild(el('p', { class: 'hw-reward' }, [b.reward_text]));
    box.appendChild(copyField('hw-link', 'Your referral link', who.link, 'hw-link-status'));
    if (who.code) box.appendChild(copyField('hw-code', 'Your referral code', who.code, 'hw-code-status'));
    if (data.qr_svg) {
      var qr = qrNode(data.qr_svg);
      if (qr) box.appendChild(el('div', { class: 'hw-qr' }, [qr]));
    }
    var items = data.share.map(function (s) {
      return el('li', {}, [el('a', { href: s.href, target: '_blank', rel: 'noopener noreferrer' }, [s.label])]);
    });
    if (navigator.share) {
      var native = el('button', { type: 'button', class: 'hw-native' }, ['Share\u2026']);
      native.addEventListener('click', function () {
        navigator.share({ title: b.name, text: data.share_text || '', url: who.link }).catch(function () {});
      });
      items.unshift(el('li', {}, [native]));
    }
    box.appendChild(el('ul', { class: 'hw-share', 'aria-label': 'Share' }, items));
    box.appendChild(el('a', { class: 'hw-portal', href: who.portal_url, target: '_blank', rel: 'noopener' }, ['Your stats and rewards']));
    box.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && mode !== 'inline') dismiss();
    });
    root.appendChild(box);
  }

  function show() {
    if (shown || !data || !data.referrer) return;
    var mode = preview ? (script.getAttribute('data-mode') || data.settings.mode) : data.settings.mode;
    if (mode === 'off') return;
    var target = null;
    if (mode === 'inline') {
      target = document.querySelector(script.getAttribute('data-target') || '[data-handoff-widget]');
      if (!target) return;
    }
    host = el('div', { 'data-handoff-widget-root': '' });
    render(mode);
    (target || document.body).appendChild(host);
    shown = true;
    if (!preview) {
      store('sessionStorage', 'shown', '1');
      store('localStorage', 'shown_at', String(Date.now()));
    }
  }

  function dismiss() {
    if (!host) return;
    host.remove();
    host = null;
    if (!preview) store('localStorage', 'dismissed_at', String(Date.now()));
  }

  // Whether this page view may show it: the campaign's display rules.
  function allowed(rules) {
    var path = location.pathname;
    if (rules.paths.length && !rules.paths.some(function (p) {
      return p.charAt(p.length - 1) === '*' ? path.indexOf(p.slice(0, -1)) === 0 : path === p;
    })) return false;
    if (rules.hide_on_small_screens && window.matchMedia('(max-width: 639.98px)').matches) return false;
    var views = (parseInt(stored('localStorage', 'views'), 10) || 0) + 1;
    store('localStorage', 'views', String(views));
    if (views < rules.min_page_views) return false;
    if (rules.mode === 'inline') return true;
    var dismissedAt = parseInt(stored('localStorage', 'dismissed_at'), 10) || 0;
    var shownAt = parseInt(stored('localStorage', 'shown_at'), 10) || 0;
    switch (rules.frequency) {
      case 'once_per_session': return !stored('sessionStorage', 'shown');
      case 'once_per_day': return Date.now() - Math.max(shownAt, dismissedAt) >= DAY;
      default: return !dismissedAt;
    }
  }

  window.HandoffWidget = {
    /** Shows the widget now (once its data is in), whatever its delay. */
    open: function () { show(); },
    /** Closes it, as its close button does. */
    close: function () { dismiss(); }
  };

  if (!slug || (!token && !preview)) return;
  var url = origin + '/embed/' + encodeURIComponent(slug) +
    (preview ? '/preview.json' : '/widget.json?token=' + encodeURIComponent(token));
  fetch(url, { credentials: 'omit', mode: 'cors' })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (body) {
      if (!body || !body.referrer) return;
      data = body;
      var rules = body.settings;
      if (preview) { show(); return; }
      if (rules.mode === 'off' || !allowed(rules)) return;
      setTimeout(show, rules.delay_seconds * 1000);
    })
    .catch(function () { /* the host page goes on without the widget */ });
})();
