// The live journal: rows for new requests arrive over Server-Sent Events (the stream honours the
// page's filters) and go on top, without a reload. Only the first page is live.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const body = document.getElementById("journal-rows");
  if (!body || body.dataset.live !== "on" || !window.EventSource) return;
  const size = Number(body.dataset.pageSize) || 50;
  const count = document.querySelector("h1 .count");
  const empty = document.querySelector("p.empty");
  const status = document.querySelector(".live");
  let total = count ? Number(count.dataset.total) : 0;

  const source = new EventSource(body.dataset.stream);
  source.addEventListener("meta", (event) => {
    const meta = JSON.parse(event.data);
    total += meta.rows;
    if (count) {
      count.dataset.total = String(total);
      count.textContent = `${total} request${total === 1 ? "" : "s"}`;
    }
    if (meta.skipped && status) status.textContent = `live (${meta.skipped} more arrived at once: reload for all)`;
  });
  source.addEventListener("rows", (event) => {
    const holder = document.createElement("tbody");
    holder.innerHTML = event.data; // server-rendered rows (escaped by the template)
    Inspector.localTimes(holder);
    body.prepend(...holder.children);
    while (body.rows.length > size) body.deleteRow(-1);
    if (empty) empty.hidden = true;
    body.dataset.lastSeq = event.lastEventId;
  });
  source.addEventListener("cleared", () => location.reload());
  source.addEventListener("open", () => {
    if (status) status.textContent = "live";
  });
  source.addEventListener("error", () => {
    if (status) status.textContent = "reconnecting…";
  });
  window.addEventListener("pagehide", () => source.close());
});
