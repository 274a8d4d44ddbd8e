"""The stylesheet of the web UI (a Python string so that it ships with the package).

Colours come from the Gradio theme's CSS variables where one fits, so dark mode keeps working; accents
are translucent so they read on either background.
"""

CSS = r"""
.gradio-container { max-width: 1480px !important; width: 100% !important; margin: 0 auto !important; }
#dq-report .virtual-table-viewport *, #dq-library .virtual-table-viewport *,
#dq-lab-table .virtual-table-viewport * { font-family: var(--font) !important; }
#dq-report .body-cell, #dq-library .body-cell, #dq-lab-table .body-cell { font-size: 13.5px; }
footer { opacity: .75; }

/* header */
.dq-header { display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  padding: 14px 20px; border-radius: 14px; color: #fff;
  background: linear-gradient(120deg, #312e81 0%, #4338ca 55%, #0369a1 100%);
  box-shadow: 0 6px 20px rgba(49, 46, 129, .18); }
.dq-brand { display: flex; align-items: center; gap: 14px; }
.dq-logo { display: grid; place-items: center; width: 42px; height: 42px; border-radius: 11px;
  background: rgba(255,255,255,.16); font-weight: 800; letter-spacing: -.5px; font-size: 18px; }
.dq-header h1 { margin: 0; font-size: 21px; font-weight: 700; color: #fff; letter-spacing: -.2px; }
.dq-header p { margin: 2px 0 0; font-size: 13.5px; color: rgba(255,255,255,.82); }
.dq-pills { display: flex; gap: 8px; flex-wrap: wrap; }
.dq-pill { font-size: 12.5px; padding: 4px 11px; border-radius: 999px; background: rgba(255,255,255,.14);
  border: 1px solid rgba(255,255,255,.22); color: #fff; white-space: nowrap; }
.dq-pill-ok { background: rgba(16,185,129,.28); border-color: rgba(110,231,183,.55); }
.dq-pill-warn { background: rgba(245,158,11,.30); border-color: rgba(252,211,77,.6); }

/* banners */
.dq-banner { display: flex; gap: 10px; align-items: flex-start; padding: 10px 14px; border-radius: 10px;
  font-size: 14px; line-height: 1.45; border: 1px solid; color: var(--body-text-color); }
.dq-banner code { font-size: 12.5px; padding: 1px 5px; border-radius: 5px; background: rgba(127,127,127,.14); }
.dq-banner-icon { font-size: 15px; line-height: 1.35; }
.dq-info  { background: rgba(59,130,246,.08);  border-color: rgba(59,130,246,.30); }
.dq-warn  { background: rgba(245,158,11,.10);  border-color: rgba(245,158,11,.42); }
.dq-error { background: rgba(239,68,68,.09);   border-color: rgba(239,68,68,.40); }
.dq-spinner { flex: none; width: 14px; height: 14px; margin-top: 3px; border-radius: 50%;
  border: 2px solid rgba(99,102,241,.25); border-top-color: #6366f1; animation: dq-spin .8s linear infinite; }
@keyframes dq-spin { to { transform: rotate(360deg); } }
.dq-ok    { background: rgba(16,185,129,.09);  border-color: rgba(16,185,129,.40); }

/* chat */
#dq-chat .message { font-size: 15px; line-height: 1.6; }
sup.dq-ref, .dq-ref { display: inline-block; font-size: 11px; font-weight: 700; line-height: 1; vertical-align: 2px;
  padding: 2px 5px; margin: 0 1px; border-radius: 6px; color: #4338ca; background: rgba(99,102,241,.13); }
.dq-cites { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 10px; padding-top: 8px;
  border-top: 1px dashed var(--border-color-primary); }
.dq-cite-ref { font-size: 12.5px; padding: 2px 9px; border-radius: 999px; background: rgba(99,102,241,.08);
  border: 1px solid rgba(99,102,241,.22); white-space: nowrap; }
.dq-cite-ref b { color: #4338ca; }
.dq-caret { color: #6366f1; animation: dq-blink 1s steps(2, start) infinite; }
@keyframes dq-blink { to { visibility: hidden; } }
.dq-uncited { text-decoration: underline dotted rgba(220,38,38,.75); text-decoration-thickness: 2px;
  text-underline-offset: 4px; cursor: help; }
.dq-msg-error { color: #b91c1c; }
.dq-msg-note { color: var(--body-text-color-subdued); font-style: italic; }
.dq-toolbar { align-items: center; }
.dq-hint { font-size: 12.5px; color: var(--body-text-color-subdued); }
.dq-small, .dq-small p { font-size: 13px !important; color: var(--body-text-color-subdued); }

.dq-welcome { max-width: 560px; margin: 0 auto; text-align: center; padding: 12px 20px; }
.dq-welcome h3 { margin: 6px 0 8px; font-size: 20px; font-weight: 700; }
.dq-welcome p { color: var(--body-text-color-subdued); font-size: 14.5px; line-height: 1.55; margin: 0 0 16px; }
.dq-welcome-icon { font-size: 40px; line-height: 1; color: #818cf8; }
.dq-steps { display: flex; flex-direction: column; gap: 8px; text-align: left; }
.dq-steps span { padding: 9px 14px; border-radius: 10px; font-size: 14px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.dq-steps span > b:first-child { display: inline-grid; place-items: center; width: 20px; height: 20px;
  margin-right: 8px;
  border-radius: 6px; font-size: 12px; color: #fff; background: #6366f1; }

/* side panel */
#dq-side { gap: 12px; }
#dq-sources { max-height: 70vh; overflow-y: auto; padding-right: 4px; }
.dq-section { display: flex; align-items: center; gap: 8px; margin: 4px 0 10px; font-size: 13px; font-weight: 700;
  text-transform: uppercase; letter-spacing: .06em; color: var(--body-text-color-subdued); }
.dq-section span, .dq-more summary span { font-size: 11.5px; padding: 1px 8px; border-radius: 999px;
  background: rgba(127,127,127,.14); letter-spacing: 0; }
.dq-empty { text-align: center; padding: 40px 24px; border: 1.5px dashed var(--border-color-primary);
  border-radius: 14px; color: var(--body-text-color-subdued); }
.dq-empty p { margin: 4px 0; font-size: 14px; }
.dq-empty-icon { font-size: 34px; color: #818cf8; line-height: 1; margin-bottom: 6px; }

.dq-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 12px 14px;
  margin-bottom: 10px; background: var(--block-background-fill); }
.dq-card.dq-cited { border-left: 4px solid #6366f1; }
.dq-card header { display: flex; align-items: center; gap: 8px; margin-bottom: 8px; flex-wrap: wrap; }
.dq-num { display: grid; place-items: center; min-width: 22px; height: 22px; padding: 0 5px; border-radius: 7px;
  font-size: 12px; font-weight: 700; color: #fff; background: #6366f1; }
.dq-card:not(.dq-cited) .dq-num { background: #94a3b8; }
.dq-file { font-weight: 650; font-size: 14px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  max-width: 60%; }
.dq-page { font-size: 12.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px;
  background: rgba(14,165,233,.12); color: #0369a1; }
.dq-meta { margin-left: auto; font-size: 12px; color: var(--body-text-color-subdued);
  font-variant-numeric: tabular-nums; }
.dq-passage { font-size: 13.5px; line-height: 1.6; color: var(--body-text-color); }
.dq-passage mark { background: rgba(250,204,21,.42); color: inherit; padding: 1px 2px; border-radius: 3px;
  box-shadow: inset 0 -2px 0 rgba(202,138,4,.55); }
.dq-supports { margin-top: 8px; font-size: 12.5px; color: var(--body-text-color-subdued); font-style: italic; }
.dq-full summary, .dq-more summary, .dq-claims summary { cursor: pointer; font-size: 12.5px; font-weight: 600;
  color: #4f46e5; margin-top: 8px; user-select: none; }
.dq-full .dq-passage { margin-top: 6px; padding: 8px 10px; border-radius: 8px; background: rgba(127,127,127,.06); }
.dq-more { margin: 6px 0 10px; }
.dq-more[open] > summary { margin-bottom: 10px; }
.dq-flags { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 8px; }
.dq-chip { display: inline-block; font-size: 11.5px; padding: 1px 8px; border-radius: 999px;
  background: rgba(127,127,127,.14); }
.dq-chip-warn { background: rgba(245,158,11,.16); color: #b45309; border: 1px solid rgba(245,158,11,.45);
  font-weight: 600; }
.dq-note { font-size: 12.5px; color: var(--body-text-color-subdued); margin: 6px 2px; }

/* faithfulness badge */
.dq-faith { border-radius: 12px; padding: 12px 14px; border: 1px solid; background: var(--block-background-fill); }
.dq-faith-head { display: flex; align-items: center; gap: 12px; }
.dq-faith .dq-score { font-size: 26px; font-weight: 800; font-variant-numeric: tabular-nums; letter-spacing: -.5px; }
.dq-faith-label { font-weight: 700; font-size: 14px; }
.dq-faith-judge { font-size: 12px; color: var(--body-text-color-subdued); }
.dq-bar { height: 6px; border-radius: 999px; background: rgba(127,127,127,.16); margin: 10px 0 2px;
  overflow: hidden; }
.dq-bar span { display: block; height: 100%; border-radius: 999px; background: #94a3b8; }
.dq-band-high .dq-bar span { background: #10b981; }
.dq-band-medium .dq-bar span { background: #f59e0b; }
.dq-band-low .dq-bar span { background: #ef4444; }
.dq-band-high { border-color: rgba(16,185,129,.45); background: rgba(16,185,129,.06); }
.dq-band-high .dq-score { color: #059669; }
.dq-band-medium { border-color: rgba(245,158,11,.5); background: rgba(245,158,11,.07); }
.dq-band-medium .dq-score { color: #d97706; }
.dq-band-low { border-color: rgba(239,68,68,.45); background: rgba(239,68,68,.06); }
.dq-band-low .dq-score { color: #dc2626; }
.dq-band-none { border-color: var(--border-color-primary); color: var(--body-text-color-subdued); font-size: 13px; }
.dq-claims ul { list-style: none; padding: 0; margin: 8px 0 0; }
.dq-v { display: flex; gap: 8px; padding: 7px 0; border-top: 1px solid rgba(127,127,127,.15); font-size: 13px; }
.dq-v-icon { font-weight: 800; width: 16px; flex: none; text-align: center; }
.dq-v-supported .dq-v-icon { color: #059669; }
.dq-v-not_supported .dq-v-icon, .dq-v-contradicted .dq-v-icon { color: #dc2626; }
.dq-v-not_supported .dq-v-claim { text-decoration: underline wavy rgba(220,38,38,.55); text-underline-offset: 3px; }
.dq-v-contradicted { background: rgba(239,68,68,.07); border-radius: 6px; padding-left: 4px; }
.dq-v-contradicted .dq-v-claim { text-decoration: line-through rgba(220,38,38,.7); }
.dq-v-meta { font-size: 12px; color: var(--body-text-color-subdued); margin-top: 2px; }

/* dark mode: lighter accents on dark backgrounds */
.dark .dq-ref, .dark .dq-cite-ref b, .dark .dq-stats b { color: #a5b4fc; }
.dark .dq-page { color: #7dd3fc; }
.dark .dq-chip-warn { color: #fbbf24; }
.dark .dq-full summary, .dark .dq-more summary, .dark .dq-claims summary { color: #a5b4fc; }
.dark .dq-msg-error { color: #fca5a5; }

/* library */
.dq-stats { display: flex; gap: 12px; }
.dq-stats > div { flex: 1; padding: 12px 16px; border-radius: 12px; border: 1px solid var(--border-color-primary);
  background: var(--block-background-fill); }
.dq-stats b { display: block; font-size: 24px; font-weight: 800; color: #4338ca; }
.dq-stats span { font-size: 12.5px; color: var(--body-text-color-subdued); text-transform: uppercase;
  letter-spacing: .05em; }

/* see the source: the page view overlay */
#dq-viewer { position: fixed !important; z-index: 1000; top: 3vh; bottom: 3vh; left: 50%; transform: translateX(-50%);
  width: min(940px, 96vw); overflow-y: auto; overscroll-behavior: contain; padding: 0 14px 14px; border-radius: 14px;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary);
  box-shadow: 0 24px 70px rgba(15,23,42,.38); }
.dq-viewer-bar { position: sticky; top: 0; z-index: 2; gap: 8px; flex-wrap: wrap; padding: 10px 0 8px;
  background: var(--background-fill-primary); }
.dq-viewer-bar button { flex: 0 0 auto !important; min-width: 0 !important; }
#dq-pv-close { margin-left: auto; }
.dq-pv-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 2px 0 10px; }
.dq-pv-file { font-weight: 700; font-size: 15px; overflow-wrap: anywhere; }
.dq-pv-pageno { font-size: 12.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px;
  background: rgba(14,165,233,.12); color: #0369a1; }
.dq-pv-found, .dq-pv-missing { font-size: 12.5px; color: var(--body-text-color-subdued); }
.dq-pv-missing { color: #b45309; }
.dq-pv-page { position: relative; width: 100%; max-width: 100%; }
.dq-pv-page img { display: block; width: 100%; height: auto; border: 1px solid var(--border-color-primary);
  border-radius: 4px; background: #fff; }
.dq-pv-hl { position: absolute; pointer-events: none; border-radius: 2px; background: rgba(250,204,21,.36);
  box-shadow: 0 0 0 2px rgba(202,138,4,.75); mix-blend-mode: multiply; }
.dq-pv-doc { font-size: 14.5px; line-height: 1.7; padding: 12px 14px; border-radius: 10px; max-width: 75ch;
  background: var(--block-background-fill); border: 1px solid var(--border-color-primary); overflow-wrap: anywhere; }
.dq-pv-doc mark { background: rgba(250,204,21,.42); color: inherit; padding: 1px 2px; border-radius: 3px;
  box-shadow: inset 0 -2px 0 rgba(202,138,4,.55); }
.dq-go { cursor: pointer; }
sup.dq-go:hover, .dq-cite-ref.dq-go:hover { background: rgba(99,102,241,.25); }
.dq-open { margin-top: 8px; font-size: 12.5px; font-weight: 600; padding: 3px 10px; border-radius: 8px; cursor: pointer;
  color: #4338ca; background: rgba(99,102,241,.08); border: 1px solid rgba(99,102,241,.3); }
.dark .dq-open, .dark .dq-pv-pageno { color: #a5b4fc; }
.dq-h { display: block; margin: 6px 0 2px; font-size: 1.02em; }
.dq-reason { margin-top: 6px; font-size: 13.5px; color: var(--body-text-color-subdued); }

/* layout fixes: nothing leaves its box, nothing is clipped */
.dq-cites { max-width: 100%; }
.dq-cite-ref { white-space: normal; overflow-wrap: anywhere; max-width: 100%; cursor: pointer; }
.dq-card header { flex-wrap: wrap; }
.dq-file { white-space: normal; overflow-wrap: anywhere; max-width: 100%; min-width: 0; flex: 1 1 12ch; }
.dq-logo { color: #fff !important; }
.dq-theme-toggle { font-size: 12.5px; padding: 4px 11px; border-radius: 999px; cursor: pointer; color: #fff !important;
  background: rgba(255,255,255,.14); border: 1px solid rgba(255,255,255,.45); white-space: nowrap; }
.dq-theme-toggle:hover { background: rgba(255,255,255,.26); }
.dq-theme-toggle span { color: #fff !important; font-weight: 500; }
.dq-when-dark { display: none; }
/* a long choice in a dropdown ends in an ellipsis before the arrow instead of running under it */
.gradio-container input[role="listbox"] { text-overflow: ellipsis; min-width: 0; }
.dark .dq-when-dark { display: inline; }
.dark .dq-when-light { display: none; }
.dq-sidebar-toggle::after { content: "Settings"; position: absolute; top: calc(100% + 4px); left: 50%;
  transform: translateX(-50%); writing-mode: vertical-rl; font-size: 11.5px; font-weight: 600; padding: 6px 2px;
  border-radius: 6px; white-space: nowrap;
  color: var(--body-text-color); background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); }
.sidebar.open .dq-sidebar-toggle::after { content: none; }
#dq-convs .wrap { gap: 6px; }
#dq-conv-list label { max-width: 100%; overflow-wrap: anywhere; }
.dq-conv-tools { flex-wrap: wrap; gap: 8px; }
.dq-conv-tools button { flex: 0 0 auto !important; }

/* tables scroll sideways on a narrow screen rather than squeezing a word per line: the table is laid out
   at a readable width (Gradio sizes its columns from that width) and its block scrolls */
@media (max-width: 900px) {
  #dq-report .table-container, #dq-library .table-container, #dq-lab-table .table-container { min-width: 900px; }
  #dq-report, #dq-library, #dq-lab-table { overflow-x: auto !important; }
}
#dq-report td, #dq-library td, #dq-lab-table td, #dq-report th, #dq-library th, #dq-lab-table th {
  word-break: normal !important; overflow-wrap: normal !important; hyphens: none; }

@media (max-width: 640px) {
  #dq-viewer { top: 0; bottom: 0; left: 0; transform: none; width: 100vw; border-radius: 0; padding: 0 8px 8px; }
  .dq-header { padding: 12px 14px; }
  .dq-header p { display: none; }
  .dq-brand { min-width: 0; }
  .dq-logo { flex: none; }
  .dq-pills { gap: 6px; }
  .dq-pill, .dq-theme-toggle { font-size: 11.5px; padding: 3px 9px; }
  .dq-stats > div { padding: 8px 10px; }
  .dq-stats b { font-size: 19px; }
  #dq-sources { max-height: none; }
  .dq-meta { margin-left: 0; }
  .dq-hint { display: none; }
}
"""
