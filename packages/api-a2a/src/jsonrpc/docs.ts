/**
 * GET /docs: one static HTML page (no external assets) that fetches /openapi.json and renders
 * every JSON-RPC method with its params and result schemas (references resolved one level: the
 * shared schemas such as Task are listed once at the end).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aipartnerupflow API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
code,pre{font:13px ui-monospace,monospace;background:#f5f5f5;border-radius:4px}
pre{padding:.75rem;overflow:auto}.muted{color:#666}
</style></head>
<body><h1>aipartnerupflow API</h1>
<p class="muted">JSON-RPC 2.0 at <code>POST /tasks</code>. Generated from <a href="openapi.json">openapi.json</a>.</p>
<div id="out">Loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
fetch("openapi.json", { headers: { accept: "application/json" } })
  .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
  .then((doc) => {
    const envs = doc.paths["/tasks"].post.requestBody.content["application/json"].schema.oneOf;
    let html = "<h2>Routes</h2><ul>";
    for (const [path, ops] of Object.entries(doc.paths)) for (const [verb, op] of Object.entries(ops))
      html += "<li><code>" + verb.toUpperCase() + " " + esc(path) + "</code> " + esc(op.summary || "") + "</li>";
    html += "</ul><h2>JSON-RPC methods</h2>";
    const schemaOf = (ref) => doc.components.schemas[ref.split("/").pop()];
    const show = (s) => "<pre>" + esc(JSON.stringify(s, null, 2)) + "</pre>";
    for (const e of envs) {
      html += '<h3 id="' + esc(e.title) + '"><code>' + esc(e.title) + "</code></h3><p>" + esc(e.description) + "</p>" +
        "<h4>params</h4>" + show(schemaOf(e.properties.params.$ref));
      if (e["x-result"]) html += "<h4>result</h4>" + show(schemaOf(e["x-result"].$ref));
    }
    html += "<h2>Shared schemas</h2>";
    for (const [name, s] of Object.entries(doc.components.schemas)) {
      if (/_(params|result)$/.test(name)) continue;
      html += '<h3 id="' + esc(name) + '"><code>' + esc(name) + "</code></h3>" + show(s);
    }
    document.getElementById("out").innerHTML = html;
  })
  .catch((err) => { document.getElementById("out").textContent = "Cannot load openapi.json: " + err.message; });
</script></body></html>`;
