// The hall display: the calls from the centre's events, large, in two
// languages; a chime and the spoken call on each call and recall. Each
// call element records data-latency-ms: its receipt time minus the
// event's `at_unix_ms`, on this browser's clock, and
// data-latency-centre-ms, corrected by the offset to the centre's clock
// (the stream's first `clock` event).
"use strict";
(function () {
  const T = {
    vi: { heading: "Mời công dân đến quầy", number: "Số", counter: "Quầy", recent: "Vừa gọi",
          connecting: "Đang kết nối…", live: "Trực tuyến", call: "Mời số {n} đến quầy {c}" },
    en: { heading: "Please go to the counter", number: "Number", counter: "Counter", recent: "Recently called",
          connecting: "Connecting…", live: "Live", call: "Number {n}, counter {c}" }
  };
  const params = new URLSearchParams(location.search);
  const lang = params.get("lang") === "en" ? "en" : "vi";
  const other = lang === "en" ? "vi" : "en";
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = T[lang][el.dataset.t]; });
  document.querySelectorAll("[data-t2]").forEach((el) => { el.textContent = T[other][el.dataset.t2]; });
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  status.textContent = T[lang].connecting;
  const MAX_CURRENT = 6;
  const MAX_RECENT = 8;
  let offset = 0; // centre's clock minus this browser's
  const current = new Map(); // counter -> row
  const recent = [];
  const audioQueue = [];
  let playing = false;

  function row(number, counter) {
    const tr = document.createElement("tr");
    tr.className = "call";
    tr.dataset.number = number;
    tr.dataset.counter = counter;
    const a = document.createElement("td");
    a.className = "number";
    a.textContent = number;
    const b = document.createElement("td");
    b.className = "counter";
    b.textContent = counter;
    tr.appendChild(a);
    tr.appendChild(b);
    return tr;
  }

  function show(number, counter, fresh) {
    const old = current.get(counter);
    if (old) old.remove();
    const tr = row(number, counter);
    if (fresh) tr.classList.add("fresh");
    $("current").prepend(tr);
    current.set(counter, tr);
    while ($("current").children.length > MAX_CURRENT) {
      const last = $("current").lastElementChild;
      current.delete(Number(last.dataset.counter));
      last.remove();
    }
    return tr;
  }

  function remember(number, counter) {
    recent.unshift(number + " → " + counter);
    showRecent();
  }

  function showRecent() {
    recent.length = Math.min(recent.length, MAX_RECENT);
    const ol = $("recent");
    ol.textContent = "";
    recent.forEach((r) => { const li = document.createElement("li"); li.textContent = r; ol.appendChild(li); });
  }

  function finish(number) {
    current.forEach((tr, counter) => {
      if (tr.dataset.number === number) { tr.remove(); current.delete(counter); }
    });
  }

  function play(number, counter, tr) {
    audioQueue.push({ tr, url: "/display/api/audio?number=" + encodeURIComponent(number) +
      "&counter=" + encodeURIComponent(counter) + "&lang=" + lang });
    next();
  }

  // One call at a time: the chime and the spoken call, then the next.
  function next() {
    if (playing || audioQueue.length === 0) return;
    playing = true;
    const item = audioQueue.shift();
    const a = new Audio(item.url);
    item.tr.dataset.audioUrl = item.url;
    let finished = false;
    const done = () => { if (finished) return; finished = true; playing = false; next(); };
    a.addEventListener("loadedmetadata", () => {
      item.tr.dataset.audio = "loaded";
      item.tr.dataset.audioSeconds = String(a.duration);
    });
    a.addEventListener("ended", done);
    a.addEventListener("error", () => { item.tr.dataset.audio = "error"; done(); });
    // Refused (no sound device, an autoplay policy): the next call goes on.
    a.play().catch(() => { setTimeout(done, 1500); });
    // A display with no sound device never ends playing: move on anyway.
    setTimeout(done, 15000);
  }

  function called(e) {
    const received = Date.now();
    const ev = JSON.parse(e.data);
    if (ev.counter === null || ev.counter === undefined) return;
    const tr = show(ev.number, ev.counter, true);
    // On this browser's clock (the centre's may differ: the clock event's
    // offset gives a second figure; it errs by that event's own delay).
    tr.dataset.latencyMs = String(received - ev.at_unix_ms);
    tr.dataset.latencyCentreMs = String(Math.round(received + offset - ev.at_unix_ms));
    tr.dataset.seq = String(ev.seq);
    $("announce").textContent = T[lang].call.replace("{n}", ev.number).replace("{c}", ev.counter);
    remember(ev.number, ev.counter);
    play(ev.number, ev.counter, tr);
  }

  const es = new EventSource("/display/api/events");
  es.addEventListener("open", () => { status.textContent = T[lang].live; status.classList.add("live"); });
  es.addEventListener("error", () => { status.textContent = T[lang].connecting; status.classList.remove("live"); });
  es.addEventListener("clock", (e) => { offset = JSON.parse(e.data).now_unix_ms - Date.now(); });
  es.addEventListener("snapshot", (e) => {
    $("current").textContent = "";
    current.clear();
    const now = JSON.parse(e.data); // newest call first
    now.slice().reverse().forEach((a) => show(a.number, a.counter, false));
    // A display that (re)connects starts its history from who is called now.
    if (recent.length === 0) {
      now.forEach((a) => recent.push(a.number + " → " + a.counter));
      showRecent();
    }
  });
  es.addEventListener("called", called);
  es.addEventListener("recalled", called);
  ["served", "no_show", "transferred"].forEach((k) => es.addEventListener(k, (e) => {
    const ev = JSON.parse(e.data);
    finish(ev.number);
  }));
})();
