// The manuscript page: fetch its state, show the EPUB's documents and the PDF, list the problems,
// and do it again whenever the server says (server-sent events) that the manuscript changed.
"use strict";
(() => {
  const body = document.body;
  const ident = body.dataset.ident;
  const profile = body.dataset.profile;
  const base = `/m/${encodeURIComponent(ident)}/`;
  const pane = document.getElementById("epub");
  const pdfPane = document.getElementById("pdf");
  const pdfView = document.getElementById("pdf-view");
  const scrollKey = `pubkit-preview-scroll:${ident}`;
  const shown = { epub: 0, pdf: 0 };
  let restore = Number(sessionStorage.getItem(scrollKey) || 0);

  const fit = (frame) => {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) frame.style.height = `${doc.documentElement.scrollHeight}px`;
  };

  const bookUrl = (name, version) =>
    `${base}epub/${name.split("/").map(encodeURIComponent).join("/")}?v=${version}`;

  // The new documents load out of sight; once all are in, they replace the old at the same scroll.
  async function showEpub(status) {
    const fresh = document.createElement("div");
    fresh.className = "book loading";
    pane.appendChild(fresh);
    await Promise.all(
      status.spine.map(
        (name) =>
          new Promise((done) => {
            const frame = document.createElement("iframe");
            frame.title = name;
            frame.dataset.doc = name;
            frame.addEventListener("load", () => { fit(frame); done(); });
            frame.src = bookUrl(name, status.epub_version);
            fresh.appendChild(frame);
          }),
      ),
    );
    const scroll = restore !== null ? restore : pane.scrollTop;
    restore = null;
    for (const old of pane.querySelectorAll(".book.current, .placeholder")) old.remove();
    fresh.classList.replace("loading", "current");
    for (const frame of fresh.querySelectorAll("iframe")) fit(frame);
    pane.scrollTop = scroll;
    body.dataset.epubVersion = status.epub_version;
  }

  function showPdf(status) {
    for (const old of pdfPane.querySelectorAll(".placeholder")) old.remove();
    pdfView.hidden = false;
    pdfView.src = `${base}pdf/${encodeURIComponent(profile)}?v=${status.pdf_version}`;
    body.dataset.pdfVersion = status.pdf_version;
  }

  function showProblems(status) {
    const panel = document.getElementById("problems");
    panel.replaceChildren();
    if (!status.diagnostics.length) {
      const none = document.createElement("p");
      none.className = "none";
      none.textContent = status.builds || status.epub_version ? "No warnings." : "No build yet.";
      panel.appendChild(none);
      return;
    }
    const list = document.createElement("ul");
    for (const item of status.diagnostics) {
      const line = document.createElement("li");
      line.className = item.severity;
      if (item.href) {
        const link = document.createElement("a");
        link.href = item.href;
        link.textContent = item.text;
        line.appendChild(link);
      } else {
        line.textContent = item.text;
      }
      list.appendChild(line);
    }
    panel.appendChild(list);
  }

  function showState(status) {
    const state = document.getElementById("state");
    state.className = status.failed ? "failed" : "";
    state.textContent = status.building
      ? "building…"
      : status.failed && status.epub_version
        ? "the last save has errors: showing the last good build"
        : status.failed
          ? "the build has errors"
          : `built (build ${status.builds})`;
    if (status.title) document.getElementById("title").textContent = status.title;
    body.dataset.builds = status.builds;
  }

  async function refresh() {
    const response = await fetch(`${base}status`, { cache: "no-store" });
    if (!response.ok) return;
    const status = await response.json();
    showState(status);
    showProblems(status);
    if (status.epub_version && status.epub_version !== shown.epub) {
      shown.epub = status.epub_version;
      await showEpub(status);
    }
    if (status.pdf_version && status.pdf_version !== shown.pdf && status.pdfs.includes(profile)) {
      shown.pdf = status.pdf_version;
      showPdf(status);
    }
    if (status.failed && !status.building) {
      for (const waiting of document.querySelectorAll(".placeholder")) {
        waiting.textContent = "No good build yet: see the errors above.";
      }
    }
  }

  // One refresh at a time; changes arriving meanwhile make one more.
  let running = null;
  let again = false;
  function schedule() {
    if (running) { again = true; return; }
    running = refresh()
      .catch(() => {})
      .finally(() => {
        running = null;
        if (again) { again = false; schedule(); }
      });
  }

  pane.addEventListener("scroll", () => sessionStorage.setItem(scrollKey, String(pane.scrollTop)));
  window.addEventListener("resize", () => { for (const f of pane.querySelectorAll(".current iframe")) fit(f); });
  const events = new EventSource("/events");
  events.addEventListener("change", (event) => { if (JSON.parse(event.data) === ident) schedule(); });
  events.addEventListener("open", schedule);  // and after a reconnection: what was missed
  schedule();
})();
