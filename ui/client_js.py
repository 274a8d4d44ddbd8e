"""The few lines of browser JavaScript the UI needs (passed to `launch(js=...)`, run once on load).

- A click on a [n] chip, a citation under an answer or a card's "View page" (class dq-go, with
  dq-turn-<t> and dq-src-<n>) writes "t:n:nonce" into the hidden #dq-open-ref box and presses the hidden
  #dq-open-btn: chips are HTML inside chat messages, which Gradio events cannot reach directly.
- The light/dark button in the header toggles Gradio's `dark` class on <body> and remembers the choice.
- "Export .md" saves the Markdown the server returns as a file, from a Blob (no server file to serve).
- The page opens at the top: no restored scroll position, and the settings sidebar's chevron gets a label.
"""

CLIENT_JS = r"""
() => {
  if (window.dqInstalled) return;
  window.dqInstalled = true;
  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
  const saved = localStorage.getItem('docqa-theme');
  const applyTheme = (mode) => {
    document.body.classList.toggle('dark', mode === 'dark');
    document.documentElement.style.colorScheme = mode;
  };
  if (saved) applyTheme(saved);
  const openRef = (el) => {
    const cls = el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className;
    const turn = /dq-turn-(\d+)/.exec(cls), src = /dq-src-(\d+)/.exec(cls);
    const box = document.querySelector('#dq-open-ref textarea, #dq-open-ref input');
    const button = document.querySelector('#dq-open-btn');
    if (!turn || !src || !box || !button) return;
    box.value = `${turn[1]}:${src[1]}:${Date.now()}`;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => button.click(), 60);
  };
  document.addEventListener('click', (event) => {
    const toggle = event.target.closest('#dq-theme-toggle');
    if (toggle) {
      const mode = document.body.classList.contains('dark') ? 'light' : 'dark';
      applyTheme(mode);
      localStorage.setItem('docqa-theme', mode);
      return;
    }
    const go = event.target.closest('.dq-go');
    if (go) { event.preventDefault(); openRef(go); }
  }, true);
  document.addEventListener('keydown', (event) => {
    const go = event.target.closest && event.target.closest('.dq-go');
    if (go && (event.key === 'Enter' || event.key === ' ')) { event.preventDefault(); openRef(go); }
    if (event.key === 'Escape') {
      const close = document.querySelector('#dq-pv-close');
      if (close && close.offsetParent) close.click();
    }
  });
  const label = () => {
    document.querySelectorAll('.sidebar .toggle-button, button.toggle-button').forEach((b) => {
      if (b.dataset.dqLabelled) return;
      b.dataset.dqLabelled = '1';
      b.setAttribute('aria-label', 'Answer settings');
      b.setAttribute('title', 'Answer settings');
      b.classList.add('dq-sidebar-toggle');
    });
  };
  label();
  new MutationObserver(label).observe(document.body, {childList: true, subtree: true});
  window.scrollTo(0, 0);
  setTimeout(() => window.scrollTo(0, 0), 300);
}
"""

SCROLL_TO_HIGHLIGHT = r"""
() => {
  setTimeout(() => {
    const panel = document.querySelector('#dq-viewer');
    const hit = document.querySelector('#dq-page-view .dq-pv-hl, #dq-page-view mark');
    if (!panel) return;
    panel.scrollTop = 0;
    if (hit) {  // scroll only when the highlight is out of sight, so the page's header stays in view
      const box = hit.getBoundingClientRect(), outer = panel.getBoundingClientRect();
      if (box.bottom > outer.bottom - 20) panel.scrollTop += box.top - outer.top - outer.height / 3;
    }
  }, 150);
}
"""

SAVE_EXPORT = r"""
(payload) => {
  if (!payload) return;
  const data = JSON.parse(payload);
  const url = URL.createObjectURL(new Blob([data.text], {type: 'text/markdown;charset=utf-8'}));
  const link = document.createElement('a');
  link.href = url; link.download = data.name; link.style.display = 'none';
  document.body.appendChild(link); link.click(); link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
"""
