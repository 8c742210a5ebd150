/// The gallery's `index.html`: one static file with its style and script inline, reading the document
/// from `gallery.js` beside it. No network, no build step; it works opened from `file://`.
///
/// The grid is virtualised: only the rows near the viewport exist in the DOM (cards are a fixed size, so
/// every row's position is computed from the filtered list), which keeps 5,000 pictures fluid.
enum GalleryPage {
    static func html(title: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="klingkit gallery">
        <title>\(escape(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        <header id="bar">
          <h1 id="title">\(escape(title))</h1>
          <div id="controls">
            <span class="seg" id="verdict-filter" role="group" aria-label="Show">
              <button data-verdict="all" class="on">All</button><button data-verdict="pick">Picked</button><button data-verdict="reject">Rejected</button><button data-verdict="none">Unreviewed</button>
            </span>
            <select id="task-filter" aria-label="Task"><option value="">All tasks</option></select>
            <input id="text-filter" type="search" placeholder="Prompt contains…" aria-label="Prompt contains">
            <span class="seg" role="group" aria-label="Export">
              <button id="export-json">Export JSON</button><button id="export-csv">CSV</button><button id="export-command">Regenerate rejected</button>
            </span>
          </div>
          <div id="counts" aria-live="polite"></div>
          <div id="help">←/→ move · shift-click range · p pick · x reject · u undo · Enter full size · Esc close</div>
        </header>
        <main id="grid" tabindex="-1"></main>
        <div id="empty" hidden>Nothing matches these filters.</div>
        <div id="lightbox" hidden>
          <button id="lb-close" aria-label="Close">×</button>
          <button id="lb-prev" aria-label="Previous">‹</button>
          <figure><img id="lb-img" alt=""><figcaption id="lb-meta"></figcaption></figure>
          <button id="lb-next" aria-label="Next">›</button>
        </div>
        <div id="export" hidden>
          <div class="panel">
            <div class="row"><strong id="export-title"></strong><span><button id="export-copy">Copy</button> <button id="export-close">Close</button></span></div>
            <textarea id="export-text" readonly spellcheck="false"></textarea>
          </div>
        </div>
        <noscript>This gallery needs JavaScript.</noscript>
        <script src="gallery.js"></script>
        <script>
        \(GalleryScript.source)
        </script>
        </body>
        </html>

        """
    }

    /// Text for HTML element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let style = #"""
    :root { --bg:#151518; --card:#222227; --line:#34343b; --text:#e8e8ea; --dim:#9a9aa3; --pick:#3fbf6a; --reject:#e0504a; --sel:#4a90e2; }
    * { box-sizing: border-box; }
    body { margin:0; background:var(--bg); color:var(--text); font:13px/1.35 system-ui, sans-serif; }
    #bar { position:sticky; top:0; z-index:5; background:#1b1b1f; border-bottom:1px solid var(--line); padding:8px 16px; }
    #title { font-size:16px; margin:0 0 6px; overflow-wrap:anywhere; }
    #controls { display:flex; flex-wrap:wrap; gap:8px; align-items:center; }
    .seg button { border-radius:0; margin-right:-1px; }
    button, select, input { background:#2b2b31; color:var(--text); border:1px solid var(--line); padding:4px 8px; font:inherit; border-radius:3px; }
    button.on { background:var(--sel); border-color:var(--sel); }
    #text-filter { width:16em; }
    #counts, #help { color:var(--dim); margin-top:4px; font-size:12px; }
    #grid { position:relative; margin:0; outline:none; }
    #empty { padding:40px; text-align:center; color:var(--dim); }
    .ghead { position:absolute; left:16px; right:16px; border-top:1px solid var(--line); padding-top:8px; overflow:hidden; }
    .ghead .glabel { font-weight:600; font-size:14px; }
    .ghead .gstatus { margin-left:8px; color:var(--dim); }
    .ghead .gstatus.failed { color:var(--reject); }
    .ghead .gprompt { color:var(--dim); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
    .card { position:absolute; background:var(--card); border:2px solid transparent; border-radius:4px; overflow:hidden; cursor:default; user-select:none; }
    .card.reference { background:#1d2430; }
    .card.reference .thumb::after { content:attr(data-role); position:absolute; left:4px; top:4px; background:#4a6fa5; color:#fff; font-size:10px; padding:1px 4px; border-radius:2px; text-transform:uppercase; }
    .card.pick { border-color:var(--pick); }
    .card.reject { border-color:var(--reject); }
    .card.reject .thumb img { opacity:.35; }
    .card.selected { box-shadow:0 0 0 2px var(--sel) inset; }
    .card.cursor { outline:2px solid #fff; outline-offset:1px; }
    .thumb { position:relative; height:200px; background:#111; display:flex; align-items:center; justify-content:center; }
    .thumb img { max-width:100%; max-height:100%; display:block; }
    .thumb .missing { color:var(--reject); padding:8px; font-size:11px; overflow-wrap:anywhere; }
    .verdict { position:absolute; right:4px; top:4px; font-size:10px; font-weight:700; padding:1px 5px; border-radius:2px; }
    .pick .verdict { background:var(--pick); color:#000; }
    .reject .verdict { background:var(--reject); color:#fff; }
    .meta { padding:4px 6px; font-size:11px; }
    .meta > div { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
    .meta .f-task { white-space:normal; overflow-wrap:anywhere; font-family:ui-monospace, monospace; user-select:all; cursor:copy; max-height:2.8em; }
    .meta .f-prompt { white-space:normal; display:-webkit-box; -webkit-line-clamp:2; -webkit-box-orient:vertical; height:2.7em; }
    .meta .dim, .meta .f-negative { color:var(--dim); }
    .copied { background:var(--pick) !important; color:#000; }
    #lightbox { position:fixed; inset:0; z-index:10; background:rgba(0,0,0,.92); display:flex; align-items:center; justify-content:center; }
    #lightbox[hidden], #export[hidden] { display:none; }
    #lightbox figure { margin:0; display:flex; gap:16px; max-width:calc(100vw - 120px); max-height:100vh; }
    #lb-img { max-width:calc(100vw - 480px); max-height:calc(100vh - 32px); object-fit:contain; }
    #lb-meta { width:320px; overflow:auto; max-height:calc(100vh - 32px); font-size:12px; }
    #lb-meta dt { color:var(--dim); margin-top:6px; }
    #lb-meta dd { margin:0; overflow-wrap:anywhere; }
    #lb-prev, #lb-next, #lb-close { font-size:28px; background:none; border:none; padding:8px 16px; }
    #lb-close { position:absolute; top:8px; right:8px; }
    #export { position:fixed; inset:0; z-index:11; background:rgba(0,0,0,.7); display:flex; align-items:center; justify-content:center; }
    #export .panel { background:#1b1b1f; border:1px solid var(--line); padding:12px; width:min(900px, 90vw); }
    #export .row { display:flex; justify-content:space-between; margin-bottom:8px; }
    #export-text { width:100%; height:50vh; background:#111; color:var(--text); font:12px ui-monospace, monospace; }
    """#
}
