// The counter page: sign in, act on the counter's ticket, live updates
// from the centre's events. No inline script (CSP); every POST carries
// the X-Centre-Page header the centre requires.
"use strict";
(function () {
  const T = {
    vi: {
      title: "Quầy phục vụ", sign_in_title: "Đăng nhập", staff_id: "Mã nhân viên", pin: "Mã PIN",
      counter_no: "Số quầy", sign_in: "Đăng nhập", sign_out: "Đăng xuất", now_serving: "Đang phục vụ",
      call_next: "Gọi số tiếp theo", recall: "Gọi lại", served: "Đã phục vụ xong", no_show: "Vắng mặt",
      transfer_to: "Chuyển sang dịch vụ", to_counter: "Quầy (không bắt buộc)", transfer: "Chuyển",
      waiting: "Đang chờ", identity_title: "Thông tin đã xác thực từ chip", full_name: "Họ và tên",
      dob: "Ngày sinh", id_no: "Số định danh", verification: "Xác minh người", genuineness: "Xác thực chip",
      service: "Dịch vụ", no_identity: "Số này không kèm thông tin định danh.",
      counter: "Quầy", waiting_n: "người chờ", none_waiting: "Không còn ai chờ.",
      bad_credentials: "Sai mã nhân viên hoặc mã PIN.", tries_left: "Còn {n} lần thử.",
      locked_out: "Đã khóa do nhập sai PIN quá 5 lần. Thử lại sau 5 phút.",
      counter_not_allowed: "Bạn không được phân công quầy này.",
      not_signed_in: "Phiên đăng nhập đã hết. Vui lòng đăng nhập lại.",
      counter_busy: "Quầy còn số đang gọi: hãy kết thúc số đó trước.",
      cross_origin: "Yêu cầu bị từ chối.", error: "Lỗi: ",
      face_matched: "Khớp khuôn mặt", staff_confirmed: "Cán bộ xác nhận", guardian: "Người giám hộ",
      anchored: "Chữ ký số hợp lệ (ngoại tuyến)", authority: "Cơ quan định danh xác nhận",
      form: "Biểu mẫu điền sẵn"
    },
    en: {
      title: "Counter", sign_in_title: "Sign in", staff_id: "Staff ID", pin: "PIN",
      counter_no: "Counter number", sign_in: "Sign in", sign_out: "Sign out", now_serving: "Now serving",
      call_next: "Call next", recall: "Recall", served: "Served", no_show: "No-show",
      transfer_to: "Transfer to service", to_counter: "Counter (optional)", transfer: "Transfer",
      waiting: "Waiting", identity_title: "Verified from the chip", full_name: "Full name",
      dob: "Date of birth", id_no: "ID number", verification: "Person verified by", genuineness: "Chip verified by",
      service: "Service", no_identity: "This number carries no identity details.",
      counter: "Counter", waiting_n: "waiting", none_waiting: "Nobody is waiting.",
      bad_credentials: "Wrong staff ID or PIN.", tries_left: "{n} tries left.",
      locked_out: "Locked after 5 wrong PINs. Try again in 5 minutes.",
      counter_not_allowed: "You are not assigned to this counter.",
      not_signed_in: "Your session has ended. Please sign in again.",
      counter_busy: "This counter still has a called number: finish it first.",
      cross_origin: "Request refused.", error: "Error: ",
      face_matched: "Face matched", staff_confirmed: "Confirmed by staff", guardian: "Guardian",
      anchored: "Valid digital signature (offline)", authority: "Confirmed by the identity authority",
      form: "Pre-filled form"
    }
  };
  const params = new URLSearchParams(location.search);
  const lang = params.get("lang") === "en" ? "en" : "vi";
  const t = (k) => (T[lang][k] !== undefined ? T[lang][k] : k);
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  const $ = (id) => document.getElementById(id);
  let state = null;
  let events = null;
  let shownIdentity = null;

  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-Centre-Page": "1" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { ok: r.ok, status: r.status, data };
  }

  function refusal(data) {
    if (!data || !data.error) return t("error");
    let m = T[lang][data.error] !== undefined ? t(data.error) : t("error") + data.message;
    if (data.error === "bad_credentials" && typeof data.limit === "number") {
      m += " " + t("tries_left").replace("{n}", data.limit);
    }
    return m;
  }

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-message").textContent = message || "";
    if (events) { events.close(); events = null; }
  }

  function name(svc) { return lang === "en" ? svc.name_en : svc.name_vi; }

  function render(s) {
    state = s;
    $("login").hidden = true;
    $("app").hidden = false;
    $("who").textContent = t("counter") + " " + s.counter + " · " + s.staff;
    const ul = $("waiting");
    ul.textContent = "";
    const sel = $("to-service");
    const selected = sel.value;
    sel.textContent = "";
    s.services.forEach((svc) => {
      const li = document.createElement("li");
      li.textContent = svc.code + " — " + name(svc) + ": " + svc.waiting + " " + t("waiting_n");
      li.dataset.service = svc.code;
      li.dataset.waiting = svc.waiting;
      if (svc.here) li.className = "here";
      ul.appendChild(li);
      const o = document.createElement("option");
      o.value = svc.code;
      o.textContent = svc.code + " — " + name(svc);
      sel.appendChild(o);
    });
    if (selected) sel.value = selected;
    const tk = s.ticket;
    $("current-number").textContent = tk ? tk.number : "—";
    $("current-number").dataset.ticketId = tk ? tk.id : "";
    $("current-service").textContent = tk ? tk.service : "";
    ["recall", "served", "no-show", "transfer"].forEach((id) => { $(id).disabled = !tk; });
    $("call-next").disabled = !!tk;
    if (!tk || !tk.has_identity) {
      $("identity").hidden = true;
      shownIdentity = null;
      $("no-identity").hidden = !tk;
    } else if (shownIdentity !== tk.id) {
      loadIdentity(tk.id);
    }
  }

  async function loadIdentity(id) {
    shownIdentity = id;
    const r = await api("GET", "/counter/api/tickets/" + id + "/identity");
    if (!r.ok) {
      $("identity").hidden = true;
      $("action-message").textContent = refusal(r.data);
      shownIdentity = null;
      return;
    }
    const p = r.data;
    $("id-name").textContent = p.full_name;
    $("id-dob").textContent = p.date_of_birth;
    $("id-masked").textContent = p.masked_id;
    $("id-verification").textContent = t(p.verification);
    $("id-genuineness").textContent = t(p.genuineness);
    $("id-service").textContent = p.service;
    const form = $("id-form");
    form.textContent = "";
    if (p.form) {
      const h = document.createElement("h3");
      h.textContent = t("form") + " — " + p.form.procedure;
      form.appendChild(h);
      const table = document.createElement("table");
      p.form.fields.forEach((f) => {
        const tr = document.createElement("tr");
        const a = document.createElement("td");
        a.textContent = lang === "en" ? f.label_en : f.label_vi;
        const b = document.createElement("td");
        b.textContent = f.value;
        tr.appendChild(a);
        tr.appendChild(b);
        table.appendChild(tr);
      });
      form.appendChild(table);
    }
    $("no-identity").hidden = true;
    $("identity").hidden = false;
  }

  async function refresh() {
    const r = await api("GET", "/counter/api/state");
    if (r.status === 401) { showLogin(state ? t("not_signed_in") : ""); return; }
    if (r.ok) { render(r.data); listen(); }
  }

  function listen() {
    if (events) return;
    events = new EventSource("/counter/api/events");
    ["snapshot", "called", "recalled", "served", "no_show", "transferred", "issued"].forEach((k) => {
      events.addEventListener(k, () => { refresh(); });
    });
  }

  async function act(path, body) {
    $("action-message").textContent = "";
    const r = await api("POST", path, body);
    if (r.ok) render(r.data);
    else if (r.status === 401) showLogin(t("not_signed_in"));
    else $("action-message").textContent = refusal(r.data);
  }

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-message").textContent = "";
    const r = await api("POST", "/counter/api/login", {
      staff: $("staff").value.trim(), pin: $("pin").value, counter: Number($("counter-no").value)
    });
    $("pin").value = "";
    if (r.ok) refresh();
    else $("login-message").textContent = refusal(r.data);
  });
  $("logout").addEventListener("click", async () => {
    await api("POST", "/counter/api/logout");
    state = null;
    showLogin("");
  });
  $("call-next").addEventListener("click", () => act("/counter/api/call-next", {}));
  const current = () => Number($("current-number").dataset.ticketId);
  $("recall").addEventListener("click", () => act("/counter/api/recall", { ticket_id: current() }));
  $("served").addEventListener("click", () => act("/counter/api/served", { ticket_id: current() }));
  $("no-show").addEventListener("click", () => act("/counter/api/no-show", { ticket_id: current() }));
  $("transfer").addEventListener("click", () => {
    const c = $("to-counter").value;
    act("/counter/api/transfer", {
      ticket_id: current(), to_service: $("to-service").value, to_counter: c ? Number(c) : null
    });
  });
  refresh();
})();
