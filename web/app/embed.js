/*
 * Parley's embed: one tag on any site shows the thread of the site's own
 * key (a page id or the page's canonical URL) in an iframe:
 *
 *   <script src="https://parley.example/embed.js" data-parley-key="page-42" async></script>
 *
 * The frame goes right after the tag, or into the element whose id the
 * tag names in data-parley-target. Without data-parley-key the page's
 * canonical URL (<link rel="canonical">) or its URL without the hash is
 * the key. With AUTH_MODE=jwt the host page hands the frame its user's
 * token, signed by the host site's server:
 *
 *   Parley.setToken(token)   // any time after this script ran; null signs out
 *
 * (or, before it runs: window.Parley = {token: "…"}). The token goes to the
 * frame by postMessage, addressed to Parley's origin only, once the frame
 * says it is ready; never in a URL. The frame's height follows its
 * content: only messages from the frame itself, from Parley's origin,
 * holding a number are taken.
 *
 * A classic script with no dependencies, building its elements with
 * createElement: it runs under the host page's rules, Trusted Types
 * included.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var key = script.getAttribute('data-parley-key');
  if (!key) {
    var canonical = document.querySelector('link[rel="canonical"]');
    key = canonical && canonical.href ? canonical.href : location.href.split('#')[0];
  }
  var before = window.Parley;
  var token = before && typeof before.token === 'string' ? before.token : null;

  var frame = document.createElement('iframe');
  frame.src = origin + '/embed?key=' + encodeURIComponent(key);
  frame.title = script.getAttribute('data-parley-title') || 'Comments';
  frame.className = 'parley-frame';
  frame.setAttribute('scrolling', 'no');
  frame.style.width = '100%';
  frame.style.minWidth = '0';
  frame.style.border = '0';
  frame.style.height = '320px';
  frame.style.display = 'block';
  frame.style.colorScheme = 'normal';

  var targetId = script.getAttribute('data-parley-target');
  var target = targetId ? document.getElementById(targetId) : null;
  if (target) target.appendChild(frame);
  else script.parentNode.insertBefore(frame, script.nextSibling);

  var ready = false;
  function sendToken() {
    if (ready) frame.contentWindow.postMessage({ type: 'parley:token', token: token }, origin);
  }

  window.addEventListener('message', function (ev) {
    if (ev.source !== frame.contentWindow || ev.origin !== origin) return;
    var d = ev.data;
    if (!d || typeof d !== 'object') return;
    if (d.type === 'parley:ready') {
      ready = true;
      frame.contentWindow.postMessage({ type: 'parley:hello' }, origin);
      if (token !== null) sendToken();
    } else if (d.type === 'parley:height') {
      var height = d.height;
      if (typeof height === 'number' && isFinite(height) && height >= 0 && height < 1e6) {
        frame.style.height = Math.ceil(height) + 'px';
      }
    }
  });

  window.Parley = {
    /** Hands the frame the host site's token for its user; null signs out. */
    setToken: function (t) {
      token = typeof t === 'string' && t !== '' ? t : null;
      sendToken();
    },
    /** The iframe, for styling. */
    frame: frame,
  };
})();
