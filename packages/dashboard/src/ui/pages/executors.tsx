import { useEffect } from "preact/hooks";
import { ErrorState, JsonView, Loading } from "../components.js";
import { useApp } from "../context.js";
import type { ExecutorInfo } from "../data/types.js";
import { useLoad } from "../hooks.js";

export function ExecutorsPage({ selected }: { selected: string | null }) {
  const { client, navigate } = useApp();
  const list = useLoad((signal) => client.call<{ executors: ExecutorInfo[] }>("executors.list", {}, signal), []);
  useEffect(() => {
    if (!selected || !list.data) return;
    document.getElementById(`executor-${selected}`)?.scrollIntoView({ block: "start" });
  }, [selected, list.data]);
  return (
    <section aria-labelledby="executors-title">
      <div class="page-head">
        <h1 id="executors-title">Executors</h1>
        {list.data ? <span class="muted">{list.data.executors.length} may run here</span> : null}
      </div>
      {list.error ? <ErrorState error={list.error} retry={list.reload} /> : null}
      {!list.data && !list.error ? <Loading what="executors" /> : null}
      {list.data && list.data.executors.length === 0 ? (
        <div class="state">
          <h2>No executors</h2>
          <p>This server allows none (see APFLOW_EXECUTORS and APFLOW_PLUGINS).</p>
        </div>
      ) : null}
      <ul class="executors">
        {list.data?.executors.map((e) => (
          <li key={e.id} id={`executor-${e.id}`} class={e.id === selected ? "executor selected" : "executor"}>
            <details
              open={e.id === selected}
              onToggle={(ev) => {
                const open = (ev.currentTarget as HTMLDetailsElement).open;
                if (open && e.id !== selected) navigate({ page: "executors", id: e.id }, true);
              }}
            >
              <summary>
                <code>{e.id}</code> {e.name && e.name !== e.id ? <strong>{e.name}</strong> : null}{" "}
                <span class="muted">{e.description ?? ""}</span>
                {e.tags && e.tags.length > 0 ? (
                  <span class="tags">
                    {e.tags.map((t) => (
                      <span class="tag" key={t}>
                        {t}
                      </span>
                    ))}
                  </span>
                ) : null}
              </summary>
              <div class="schemas">
                <div>
                  <h3>Input schema</h3>
                  {e.inputSchema ? (
                    <JsonView value={e.inputSchema} label={`${e.id} input schema`} />
                  ) : (
                    <p class="muted">none: any inputs</p>
                  )}
                </div>
                <div>
                  <h3>Output schema</h3>
                  {e.outputSchema ? (
                    <JsonView value={e.outputSchema} label={`${e.id} output schema`} />
                  ) : (
                    <p class="muted">not declared</p>
                  )}
                </div>
                {e.examples && e.examples.length > 0 ? (
                  <div>
                    <h3>Examples</h3>
                    <JsonView value={e.examples} label={`${e.id} examples`} />
                  </div>
                ) : null}
              </div>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
