// Sessions and sites: what each site is doing now, from /api/status (refreshed every 2 s).
import { api, el } from "../api.js";

export async function render(main) {
  const body = el("div", { id: "sessions", "aria-live": "polite" });
  const refresh = async () => {
    try {
      const status = await api("/api/status");
      const sites = Object.entries(status.sites || {});
      body.replaceChildren(sites.length
        ? el("table", {}, el("thead", {}, el("tr", {}, ["site", "state", "session", "since", "last text", "last intent"].map((h) => el("th", {}, h)))),
            el("tbody", {}, sites.map(([site, info]) => el("tr", {},
              el("td", {}, site), el("td", {}, info.state || "idle"),
              el("td", {}, info.sessionId || "–"),
              el("td", {}, info.since ? new Date(info.since * 1000).toLocaleTimeString() : "–"),
              el("td", {}, info.lastText || "–"), el("td", {}, info.lastIntent || "–")))))
        : el("p", { class: "muted" }, "No site has been active yet."));
    } catch (err) { body.replaceChildren(el("p", { class: "bad" }, err.message)); }
  };
  await refresh();
  const timer = setInterval(refresh, 2000);
  main.append(el("h1", {}, "Sessions and sites"), el("section", { class: "card" }, body));
  return () => clearInterval(timer);
}
