// vagent's web page: search, watch the moment, ask with citations that seek the player.
// Plain JavaScript, no build step, no CDN; talks only to this server's /api routes.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { threadId: null, videos: new Map(), semantic: true, playing: null };

function clock(t) {
  const s = Math.round(t);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
}

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") n.className = v; else if (k.startsWith("data-")) n.setAttribute(k, v);
    else n[k] = v;
  }
  for (const k of kids) n.append(k);
  return n;
}

function say(where, text, kind) {
  where.replaceChildren(text ? el("div", { class: "banner " + (kind || "info") }, text) : "");
}

async function api(path, opts) {
  const r = await fetch(path, opts);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
  return body;
}

async function loadInfo() {
  try {
    const info = await api("/api/info");
    state.semantic = info.semantic !== false;
    for (const v of info.videos) state.videos.set(v.video_id, v);
    let line = `${info.name}: ${info.videos.length} videos, ${info.segments} segments`;
    if (!state.semantic) line += " · random-weight encoder";
    $("lib").textContent = line;
    if (!state.semantic) {
      say($("state"), "This library was built with a random-weight encoder: visual matches carry " +
        "no meaning (text matches still do).", "warn");
    }
  } catch (e) {
    $("lib").textContent = "library unavailable: " + e.message;
  }
}

function card(hit) {
  const missing = hit.missing;
  const img = el("img", { alt: "", loading: "lazy" });
  if (!missing) img.src = `/api/videos/${hit.video_id}/frame?t=${hit.frame_time.toFixed(2)}`;
  const name = hit.video.split(/[\\/]/).pop();
  const body = el("div", { class: "body" },
    el("div", { class: "name" }, name),
    el("div", {}, `${clock(hit.start)}–${clock(hit.end)}`),
    el("div", { class: "chan" }, hit.channels.join(" + ") + (missing ? " · source file missing" : "")));
  for (const t of (hit.texts || []).slice(0, 2)) {
    body.append(el("q", {}, `${t.source}: ${t.text.slice(0, 140)}`));
  }
  const c = el("div", {
    class: "card" + (missing ? " missing" : ""), tabIndex: 0,
    "data-video-id": String(hit.video_id), "data-start": String(hit.start),
    "data-end": String(hit.end),
  }, img, body);
  const go = () => {
    if (missing) {
      say($("state"), `The source file of ${name} is missing: the index still finds it, ` +
        "but it cannot be played.", "warn");
      return;
    }
    document.querySelectorAll(".card.active").forEach((x) => x.classList.remove("active"));
    c.classList.add("active");
    play(hit.video_id, hit.start, hit.end, name);
  };
  c.addEventListener("click", go);
  c.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  return c;
}

async function search(ev) {
  ev.preventDefault();
  const q = $("q").value.trim();
  if (!q) return;
  say($("state"), "Searching…");
  $("cards").replaceChildren();
  try {
    const hits = await api(`/api/search?q=${encodeURIComponent(q)}&k=12`);
    if (!hits.length) { say($("state"), "No moments match. Try other words.", "warn"); return; }
    const random = hits.some((h) => h.extra && h.extra.semantic === false);
    say($("state"), `${hits.length} moments` + (random ? " (random-weight encoder: visual " +
      "matches carry no meaning)" : ""), random ? "warn" : "info");
    $("cards").replaceChildren(...hits.map(card));
  } catch (e) {
    say($("state"), e.message, "warn");
  }
}

function play(videoId, start, end, name) {
  const v = $("player");
  const src = `/api/videos/${videoId}/media`;
  const seek = () => {
    v.currentTime = start;
    const p = v.play();
    if (p && p.catch) p.catch(() => {});  // autoplay refused: the user presses play
    mark(start, end);
  };
  state.playing = { videoId, start, end };
  $("now").textContent = `${name || ("video " + videoId)} ${clock(start)}–${clock(end)}`;
  if (v.getAttribute("src") !== src) {
    v.setAttribute("src", src);
    v.addEventListener("loadedmetadata", seek, { once: true });
    v.load();
  } else {
    seek();
  }
}

function mark(start, end) {
  const d = $("player").duration;
  const seg = $("segment");
  if (!isFinite(d) || d <= 0) { seg.hidden = true; return; }
  seg.style.left = (100 * start / d) + "%";
  seg.style.width = Math.max(0.5, 100 * (end - start) / d) + "%";
  seg.hidden = false;
}

function citationLink(c) {
  const name = c.name || c.video.split(/[\\/]/).pop();
  const a = el("a", {
    href: "#", "data-video-id": String(c.video_id), "data-start": String(c.start),
    class: "citation",
  }, `${c.near_miss ? "near miss: " : ""}${name} ${clock(c.start)}–${clock(c.end)}` +
     (c.why ? ` — ${c.why}` : ""));
  a.addEventListener("click", (e) => {
    e.preventDefault();
    if (c.video_id == null) return;
    const v = state.videos.get(c.video_id);
    if (v && v.missing) {
      say($("state"), `The source file of ${name} is missing.`, "warn");
      return;
    }
    play(c.video_id, c.start, c.end, name);
  });
  return a;
}

function parseEvents(buffer, onEvent) {
  let i;
  while ((i = buffer.indexOf("\n\n")) >= 0) {
    const chunk = buffer.slice(0, i);
    buffer = buffer.slice(i + 2);
    let kind = "message", data = "";
    for (const line of chunk.split("\n")) {
      if (line.startsWith("event: ")) kind = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    onEvent(kind, data ? JSON.parse(data) : null);
  }
  return buffer;
}

async function ask(ev) {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("ask-btn").disabled = true;
  $("answer").hidden = true;
  $("citations").replaceChildren();
  $("progress").textContent = "asking…";
  const t0 = performance.now();
  let result = null, failure = null;
  try {
    const r = await fetch("/api/ask/stream", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question, thread_id: state.threadId }),
    });
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf = parseEvents(buf + dec.decode(value, { stream: true }), (kind, data) => {
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        if (kind === "progress") {
          $("progress").textContent = `${secs} s · ${data.node}` +
            (data.queries ? ` (${data.queries.length} queries)` : "") + " …";
        } else if (kind === "queued") {
          $("progress").textContent = "waiting for a worker…";
        } else if (kind === "answer") {
          result = data;
        } else if (kind === "error") {
          failure = data.error;
        }
      });
    }
  } catch (e) {
    failure = e.message;
  }
  $("ask-btn").disabled = false;
  if (failure || !result) {
    $("progress").textContent = "";
    $("answer").hidden = false;
    $("answer").textContent = "Could not answer: " + (failure || "the connection closed");
    return;
  }
  showAnswer(question, result, (performance.now() - t0) / 1000);
}

function showAnswer(question, res, seconds) {
  state.threadId = res.thread_id;
  $("progress").textContent = `answered in ${seconds.toFixed(1)} s`;
  const a = $("answer");
  a.hidden = false;
  a.classList.toggle("abstained", !!res.abstained);
  let head = res.answer;
  if (res.abstained) head = "Abstained: " + head;
  else if (res.guessed) head = "A guess: " + head;
  if (res.trace && res.trace.semantic === false) {
    head += "\n(random-weight answerer: the answer carries no meaning)";
  }
  for (const m of res.missing_sources || []) head += `\n(${m} is missing; answered from the index)`;
  a.textContent = head;
  $("citations").replaceChildren(...res.citations.map(citationLink));
  $("turns").append(el("div", { class: "turn" }, el("b", {}, "Q: "), question,
    el("br"), el("b", {}, "A: "), res.answer));
  $("question").value = "";
}

// Indexing from the server (vagent serve --allow-index): the job's progress in the header.
async function watchIndex() {
  let job = null;
  try {
    const r = await fetch("/api/index");
    if (!r.ok) return;  // this server does not index, or not for this client: stop asking
    job = await r.json();
  } catch (e) {
    return;
  }
  const where = $("indexing");
  if (job.state === "running") {
    where.textContent = `· indexing ${job.done} of ${job.files || "?"} files` +
      (job.current ? ` (${job.current})` : "") + "…";
  } else if (job.state !== "idle" && state.lastJob !== job.started + job.state) {
    const first = !state.indexPolled;  // a job from before this page: its videos are shown
    state.lastJob = job.started + job.state;
    let line = `· last index job ${job.state}: ${job.indexed.length} indexed, ` +
      `${job.skipped.length} unchanged, ${job.failed.length} failed`;
    if (job.error) line += ` (${job.error})`;
    where.textContent = line;
    where.title = job.failed.map((f) => `${f.path}: ${f.reason}`).join("\n");
    if (!first) loadInfo();  // the library changed while this page was open
  }
  state.indexPolled = true;
  setTimeout(watchIndex, job.state === "running" ? 1000 : 4000);
}

$("search-form").addEventListener("submit", search);
$("ask-form").addEventListener("submit", ask);
$("new-thread").addEventListener("click", () => {
  state.threadId = null;
  $("turns").replaceChildren();
  $("answer").hidden = true;
  $("citations").replaceChildren();
  $("progress").textContent = "new thread";
});
$("player").addEventListener("loadedmetadata", () => {
  if (state.playing) mark(state.playing.start, state.playing.end);
});
loadInfo();
watchIndex();
