/**
 * Benchmark trees: groups of 10 tasks mixing a fan-out (1 -> 5), a fan-in (5 -> 1) and a chain
 * of 3, all under one root that depends on every group's last task (a wide fan-in).
 */
export function mixedTree(size, executorId = "noop") {
  const params = { executorId };
  const tasks = [{ id: "root", name: "root", params, dependencies: [] }];
  const groups = Math.max(1, Math.floor((size - 1) / 10));
  for (let g = 0; g < groups; g++) {
    const id = (k) => `g${g}-${k}`;
    tasks.push({ id: id("head"), name: id("head"), parentId: "root", params });
    for (let f = 0; f < 5; f++)
      tasks.push({ id: id(`fan${f}`), name: id(`fan${f}`), parentId: "root", params, dependencies: [id("head")] });
    tasks.push({
      id: id("join"),
      name: id("join"),
      parentId: "root",
      params,
      dependencies: [0, 1, 2, 3, 4].map((f) => id(`fan${f}`)),
    });
    tasks.push({ id: id("c1"), name: id("c1"), parentId: "root", params, dependencies: [id("join")] });
    tasks.push({ id: id("c2"), name: id("c2"), parentId: "root", params, dependencies: [id("c1")] });
    tasks.push({ id: id("c3"), name: id("c3"), parentId: "root", params, dependencies: [id("c2")] });
    tasks[0].dependencies.push(id("c3"));
  }
  return tasks;
}

export function formatRate(n) {
  return Math.round(n).toLocaleString("en-US");
}
