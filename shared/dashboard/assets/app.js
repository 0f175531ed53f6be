// The Siyu console: one script, no dependencies. It reads and changes the
// brand's data through the admin API with the session cookie (which it
// cannot see) and the page's CSRF token; charts are the API's SVG.
"use strict";

const meta = (n) => document.querySelector('meta[name="' + n + '"]').content;
const CSRF = meta("csrf-token"), TZ = meta("siyu-tz"), TODAY = meta("siyu-today");
// The API's limits (welcome_bytes, threshold, window_minutes, admins), so
// that the forms check what the API will.
const LIMITS = JSON.parse(meta("siyu-limits"));
let lang = localStorage.getItem("siyu.lang") === "en" ? "en" : "zh-CN";

const T = {
  "zh-CN": {
    brand: "私域控制台", logout: "退出", nav_overview: "概览", nav_channels: "渠道", nav_members: "成员", nav_groups: "客户群",
    nav_posts: "发布", nav_moments: "朋友圈转化", nav_settings: "设置", switch: "English", tz: "时区",
    loading: "加载中…", failed: "加载失败", not_rolled: "未汇总", not_rolled_long: "该日尚未汇总，暂无数据（不是 0）",
    yesterday: "昨日", vs7: "较 7 日均值", new_customers: "新增客户", lost_customers: "流失客户", removed_customers: "删除客户",
    net: "净增", churn_rate: "流失率", customers_end: "期末客户", customers_start: "期初客户", date: "日期", complete: "已汇总",
    days30: "30 天", days90: "90 天", churn_chart: "每日流失率", net_chart: "每日净增", cohort_chart: "新客早期流失（按加入日）",
    rate_1d: "1 天内流失", rate_7d: "7 天内流失", rate_30d: "30 天内流失", incomplete_days: "未汇总的日期",
    tap_hint: "点按图表查看当日数值", daily_table: "每日数据", csv: "下载 CSV", none: "暂无数据", reconciled: "对账补录",
    channel: "渠道", channel_stats: "渠道效果（近 {n} 天）", no_channel: "（无渠道）", lost_per_new: "流失/新增",
    churn_1d: "1 天内流失率", churn_7d: "7 天内流失率", churn_30d: "30 天内流失率", cohort_new: "可计算新客",
    early_churn_help: "早期流失率：该渠道在所选期间带来的新客中，加入后 1/7/30 天内流失的比例（按各日新客人数加权）。只计算时间窗已经完全过去的日期；没有这样的日期时显示「—」（不是 0）。各列的基数 n（计入的新客数）因此不同。选 90 天可看到 30 天内流失率。",
    base_of: "基于 {n} 位新客",
    channels_list: "渠道管理", channels_na: "渠道管理接口暂不可用（此版本未提供 /api/channels）。", new_channel: "新建渠道",
    name: "名称", kind: "类型", state: "渠道参数 state", contact_way: "联系我二维码", acquisition_link: "获客链接", adopted: "已发现（未命名）",
    type: "单人/多人", single: "单人", multi: "多人", members: "成员 userid（逗号分隔）", departments: "部门 id（逗号分隔）",
    skip_verify: "免验证添加", remark: "备注", tags: "自动打标签", no_tags: "企业标签库为空，可在企业微信管理后台添加标签。",
    welcome_hint: "可用 %NICKNAME% 代表客户昵称。最多 {max} 字节（UTF-8，一个汉字 3 字节），当前 {n} 字节。", too_long: "超出上限", welcome_text: "欢迎语", link_url: "链接 URL", link_title: "链接标题", link_cover: "链接封面图 URL（朋友圈链接必填）",
    save: "保存", cancel: "取消", edit: "编辑", del: "删除", name_it: "命名", confirm_delete: "确定删除该渠道？已生成的二维码将失效。",
    saved: "已保存", deleted: "已删除", qr: "二维码 / 链接", open_qr: "打开二维码", unnamed: "未命名",
    member: "成员", member_stats: "成员（近 30 天）", added: "Siyu 新增", deleted_by_customer: "被客户删除", deleted_by_member: "成员删除客户",
    wecom_new: "企业微信新增", wecom_neg: "企业微信被删/拉黑", disagree: "不一致", disagree_note: "企业微信的数字只含夜间同步读到的日期，与 Siyu 同日的数字对比；「a ≠ b」与红色行表示不一致（可能有回调丢失）。",
    group: "客户群", chat_id: "群 ID", group_stats: "客户群（近 30 天）", joins: "入群", quits_self: "主动退群", quits_removed: "被移出", members_now: "当前人数", quit_rate: "退群率",
    posts_title: "发布日历", week: "周", month: "月", prev: "上一页", next: "下一页", this_period: "本期",
    cap: "朋友圈上限使用", cap_full: "已满", new_post: "新建发布", edit_post: "编辑发布（取消原发布并重新创建）",
    moment: "朋友圈", group_message: "群发消息", send_date: "发送日期", send_time: "发送时间", text: "内容",
    chat_type: "群发对象", chat_single: "客户", chat_group: "客户群", sender: "发送成员 userid", visible: "可见成员 userid（逗号分隔，留空为全部）",
    create: "创建", created: "已创建", canceled: "已取消", cancel_post: "取消发布", confirm_cancel: "确定取消这条发布？",
    status: "状态", last_error: "最近错误", send_at: "发送时间", actions: "操作", posts_list: "发布列表",
    scheduled: "待发送", sending: "发送中", sent: "已发送", failed_s: "失败",
    err_400: "填写有误", err_409_cap: "{day} 朋友圈已达上限：每位客户每天最多 {limit} 条（已有：{ids}）。", err_409: "操作冲突",
    next_slot: "改到下一个有空位的日期", err_net: "网络错误，请重试", err_404: "未找到",
    moments_title: "朋友圈转化（近 30 天）", targeted: "目标成员", published: "已发表", reached: "触达客户", engaged: "互动客户",
    clicks: "点击", conversions: "转化", value: "转化金额", post: "发布", best: "效果最好", worst: "效果最差", click_rate: "点击率",
    settings_title: "设置", settings_na: "设置接口暂不可用（此版本未提供 /api/settings）。", churn_alert: "客户删除成员时提醒该成员",
    deletion_alert: "删人提醒：成员短时间内删除多位客户时提醒管理员", threshold: "阈值（人）", window: "时间窗（分钟）",
    admins: "接收提醒的管理员 userid（逗号分隔）", default_welcome: "默认欢迎语", report_lang: "日报语言", lang_default: "默认（中文）",
    err_settings_409: "设置已被他人修改，请刷新", reload: "刷新", enabled: "启用",
    bad_threshold: "阈值须为 1 到 {max} 之间的整数", bad_window: "时间窗须为 1 到 {max} 分钟之间的整数",
    bad_admins: "管理员最多 {max} 位（现有 {n} 位）", bad_admin_id: "管理员 userid「{id}」无效（不超过 64 个字符）", bad_welcome: "欢迎语超过 {max} 字节（现有 {n} 字节）",
    field: "字段", show_all: "显示全部 {n} 天", funnel: "转化漏斗", publish_rate: "发表率", engagement_rate: "互动率", conversion_rate: "转化率",
    funnel_help: "漏斗：目标成员 → 已发表 → 触达客户 → 互动客户 → 点击（去重）→ 转化。", cap_help: "日期右上角：当天朋友圈数 / 每位客户每天可见上限。",
  },
  en: {
    brand: "Siyu console", logout: "Sign out", nav_overview: "Overview", nav_channels: "Channels", nav_members: "Members", nav_groups: "Groups",
    nav_posts: "Posts", nav_moments: "Moments", nav_settings: "Settings", switch: "中文", tz: "Time zone",
    loading: "Loading…", failed: "Failed to load", not_rolled: "Not rolled up", not_rolled_long: "This day is not rolled up yet (no data, not zero)",
    yesterday: "Yesterday", vs7: "vs 7-day average", new_customers: "New customers", lost_customers: "Lost customers", removed_customers: "Removed",
    net: "Net growth", churn_rate: "Churn rate", customers_end: "Customers at end", customers_start: "Customers at start", date: "Date", complete: "Rolled up",
    days30: "30 days", days90: "90 days", churn_chart: "Daily churn rate", net_chart: "Daily net growth", cohort_chart: "Early churn of new customers (by day joined)",
    rate_1d: "Lost within 1 day", rate_7d: "within 7 days", rate_30d: "within 30 days", incomplete_days: "Days not rolled up",
    tap_hint: "Tap the chart to see a day's values", daily_table: "Daily numbers", csv: "Download CSV", none: "No data", reconciled: "Reconciled",
    channel: "Channel", channel_stats: "Channels (last {n} days)", no_channel: "(no channel)", lost_per_new: "Lost / new",
    churn_1d: "Lost within 1 day", churn_7d: "Lost within 7 days", churn_30d: "Lost within 30 days", cohort_new: "New customers counted",
    early_churn_help: "Early churn: of the customers a channel brought in the period, the share lost within 1/7/30 days of joining (weighted by each day's new customers). Only days whose window has fully passed count; “—” when none has (not 0), so each column has its own base n (the new customers counted). Choose 90 days to see the 30-day rate.",
    base_of: "of {n} new customers",
    channels_list: "Manage channels", channels_na: "Channel management is not available (this version has no /api/channels).", new_channel: "New channel",
    name: "Name", kind: "Kind", state: "State parameter", contact_way: "Contact QR code", acquisition_link: "Acquisition link", adopted: "Found (unnamed)",
    type: "Single or multi", single: "Single", multi: "Multi", members: "Member userids (comma separated)", departments: "Department ids (comma separated)",
    skip_verify: "Add without verification", remark: "Remark", tags: "Tags to apply", no_tags: "The corp's tag library is empty; add tags in the WeCom admin console.",
    welcome_hint: "%NICKNAME% stands for the customer's nickname. At most {max} bytes (UTF-8; a Chinese character is 3), now {n} bytes.", too_long: "over the limit", welcome_text: "Welcome message", link_url: "Link URL", link_title: "Link title", link_cover: "Link cover image URL (required for a Moment's link)",
    save: "Save", cancel: "Cancel", edit: "Edit", del: "Delete", name_it: "Name it", confirm_delete: "Delete this channel? Its QR code stops working.",
    saved: "Saved", deleted: "Deleted", qr: "QR code / link", open_qr: "Open QR code", unnamed: "Unnamed",
    member: "Member", member_stats: "Members (last 30 days)", added: "Added (Siyu)", deleted_by_customer: "Deleted by customer", deleted_by_member: "Deleted by member",
    wecom_new: "WeCom new", wecom_neg: "WeCom deleted/blocked", disagree: "Disagree", disagree_note: "WeCom's numbers cover the days the nightly sync read and are compared with Siyu's for those days; “a ≠ b” and red rows disagree (a callback may have been lost).",
    group: "Group", chat_id: "Chat ID", group_stats: "Groups (last 30 days)", joins: "Joins", quits_self: "Quit", quits_removed: "Removed", members_now: "Members", quit_rate: "Quit rate",
    posts_title: "Post calendar", week: "Week", month: "Month", prev: "Previous", next: "Next", this_period: "Today",
    cap: "Moments cap used", cap_full: "Full", new_post: "New post", edit_post: "Edit post (cancels it and creates it again)",
    moment: "Moment", group_message: "Group message", send_date: "Date", send_time: "Time", text: "Text",
    chat_type: "Send to", chat_single: "Customers", chat_group: "Groups", sender: "Sender userid", visible: "Visible to member userids (comma separated, empty = all)",
    create: "Create", created: "Created", canceled: "Canceled", cancel_post: "Cancel post", confirm_cancel: "Cancel this post?",
    status: "Status", last_error: "Last error", send_at: "Send at", actions: "Actions", posts_list: "Posts",
    scheduled: "Scheduled", sending: "Sending", sent: "Sent", failed_s: "Failed",
    err_400: "Please fix", err_409_cap: "{day} is full: each customer sees at most {limit} Moments a day (already: {ids}).", err_409: "Conflict",
    next_slot: "Move it to the next day with room", err_net: "Network error; please retry", err_404: "Not found",
    moments_title: "Moments conversion (last 30 days)", targeted: "Targeted", published: "Published", reached: "Reached", engaged: "Engaged",
    clicks: "Clicks", conversions: "Conversions", value: "Value", post: "Post", best: "Best", worst: "Worst", click_rate: "Click rate",
    settings_title: "Settings", settings_na: "Settings are not available (this version has no /api/settings).", churn_alert: "Tell a member when a customer deletes them",
    deletion_alert: "Deletion alert: tell admins when a member deletes many customers quickly", threshold: "Threshold (customers)", window: "Window (minutes)",
    admins: "Admin userids to alert (comma separated)", default_welcome: "Default welcome message", report_lang: "Report language", lang_default: "Default (Chinese)",
    err_settings_409: "Someone else changed the settings; please refresh", reload: "Refresh", enabled: "On",
    bad_threshold: "The threshold must be a whole number from 1 to {max}", bad_window: "The window must be a whole number of minutes from 1 to {max}",
    bad_admins: "At most {max} admins ({n} given)", bad_admin_id: "Admin userid “{id}” is not valid (at most 64 characters)", bad_welcome: "The welcome is over {max} bytes ({n} bytes)",
    field: "Field", show_all: "Show all {n} days", funnel: "Funnel", publish_rate: "Publish rate", engagement_rate: "Engagement rate", conversion_rate: "Conversion rate",
    funnel_help: "Funnel: members targeted → published → customers reached → engaged → unique clickers → conversions.", cap_help: "Top right of each day: its Moments / the most a customer may see per day.",
  },
};
const t = (k, vars) => {
  let s = (T[lang][k] ?? T["zh-CN"][k] ?? k);
  if (vars) for (const [a, b] of Object.entries(vars)) s = s.replace("{" + a + "}", b);
  return s;
};

// ---- DOM helpers ----
const $ = (s, el) => (el || document).querySelector(s);
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const main = () => $("#main");
function say(msg, cls) {
  const s = $("#status");
  s.className = "status " + (cls || "");
  s.textContent = msg || "";
}

// ---- dates in the brand's zone ----
const addDays = (d, n) => {
  const [y, m, dd] = d.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, dd + n)).toISOString().slice(0, 10);
};
const dow = (d) => { const [y, m, dd] = d.split("-").map(Number); return (new Date(Date.UTC(y, m - 1, dd)).getUTCDay() + 6) % 7; };
const zoneFmt = new Intl.DateTimeFormat("en-US", { timeZone: TZ, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit" });
function parts(ms) {
  const p = {};
  for (const x of zoneFmt.formatToParts(new Date(ms))) p[x.type] = x.value;
  return p;
}
const dayOf = (iso) => { const p = parts(Date.parse(iso)); return p.year + "-" + p.month + "-" + p.day; };
const timeOf = (iso) => { const p = parts(Date.parse(iso)); return p.hour + ":" + p.minute; };
const fmtTime = (iso) => iso ? dayOf(iso) + " " + timeOf(iso) : "";
// zonedToISO is the instant of a wall-clock date and time in TZ.
function zonedToISO(date, time) {
  const [y, m, d] = date.split("-").map(Number), [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const off = (ms) => { const p = parts(ms); return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000; };
  let at = wall - off(wall);
  at = wall - off(at);
  return new Date(at).toISOString().replace(".000Z", "Z");
}

// ---- numbers ----
const nf = () => new Intl.NumberFormat(lang);
const num = (v) => v === null || v === undefined ? "" : nf().format(v);
const pct = (v) => v === null || v === undefined || !isFinite(v) ? "" : (v * 100).toFixed(2) + "%";
const sum = (rows, k) => rows.reduce((a, r) => a + (r[k] || 0), 0);

// ---- API ----
async function api(method, path, body, headers) {
  const opt = { method, headers: { Accept: "application/json", ...(headers || {}) }, credentials: "same-origin" };
  if (method !== "GET") opt.headers["X-CSRF-Token"] = CSRF;
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  let r;
  try { r = await fetch(path, opt); } catch (e) { return { status: 0, ok: false, data: null }; }
  if (r.status === 401) { location.href = "/login"; return new Promise(() => {}); }
  let data = null;
  try { data = await r.json(); } catch (e) { /* no body */ }
  return { status: r.status, ok: r.ok, data, etag: r.headers.get("ETag") };
}
async function must(path) {
  const r = await api("GET", path);
  if (!r.ok) throw new Error(t("failed") + ": " + path + " " + r.status + " " + ((r.data && r.data.error && r.data.error.message) || ""));
  return r.data;
}
// explain turns an API refusal into words: 400 names the field, 409 the
// day that is full.
function explain(r) {
  if (r.status === 0) return t("err_net");
  const e = (r.data && r.data.error) || {};
  if (r.status === 409 && e.code === "cap_reached") return t("err_409_cap", { day: e.day, limit: e.limit, ids: (e.colliding || []).join(", ") });
  if (r.status === 409) return t("err_409") + "：" + (e.message || "");
  if (r.status === 400) return t("err_400") + "：" + (e.message || "");
  if (r.status === 404) return t("err_404") + "：" + (e.message || "");
  return (e.message || "HTTP " + r.status);
}

// ---- tables with CSV ----
// csvCell is the API's CSV rule: text a spreadsheet would read as a
// formula gets a leading ', numbers stay numbers.
function csvCell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  let s = String(v);
  if (s !== "" && "=+-@\t\r".includes(s[0])) s = "'" + s;
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function downloadCSV(name, cols, rows) {
  const lines = [cols.map((c) => csvCell(c.key)).join(",")];
  for (const r of rows) lines.push(cols.map((c) => csvCell(c.csv ? c.csv(r) : r[c.key])).join(","));
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const a = h("a", { href: URL.createObjectURL(blob), download: "siyu-" + name + ".csv" });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
// table renders rows under a heading with a CSV button (of csvRows when
// the table shows fewer); cols are {key, label, fmt?, num?, csv?};
// flag(row) marks a row.
function table(name, title, cols, rows, flag, csvRows) {
  const head = h("div", { class: "tablehead" }, h("h2", { text: title }),
    h("button", { type: "button", class: "spacer", "data-csv": name, onclick: () => downloadCSV(name, cols, csvRows || rows) }, t("csv")));
  if (!rows.length) return h("section", {}, head, h("p", { class: "help", text: t("none") }));
  const tb = h("table", { class: "cardify", "data-table": name },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, t(c.label || c.key))))),
    h("tbody", {}, rows.map((r) => h("tr", { class: flag && flag(r) ? "flag" : null },
      cols.map((c) => { const v = c.fmt ? c.fmt(r) : r[c.key]; return h("td", { class: c.num ? "num" : null, "data-label": t(c.label || c.key) }, v instanceof Node ? v : (v ?? "")); })))));
  return h("section", {}, head, h("div", { class: "tablebox" }, tb));
}

// ---- charts (SVG from the API) ----
async function chart(name, from, to, title, series) {
  const box = h("div", { class: "card" }, h("h2", { text: title }));
  const legend = h("div", { class: "legend" }, series.map((s, i) => h("span", { class: name === "net" ? "s2" : "s" + i, text: t(s) })), h("span", { class: "inc", text: t("incomplete_days") }));
  const tip = h("p", { class: "tip", role: "status", "aria-live": "polite", text: t("tap_hint") });
  box.append(legend);
  const r = await fetch("/api/charts/" + name + "?from=" + from + "&to=" + to, { credentials: "same-origin" });
  if (!r.ok) { box.append(h("p", { class: "error", text: t("failed") })); return box; }
  const holder = h("div", { "data-chart": name });
  holder.innerHTML = await r.text(); // drawn by the API: dates and numbers only
  const show = (hit) => {
    for (const x of holder.querySelectorAll(".hit.on")) x.classList.remove("on");
    hit.classList.add("on");
    const d = hit.dataset;
    if (d.incomplete) { tip.textContent = d.date + " · " + t("not_rolled_long"); return; }
    tip.textContent = d.date + " · " + series.map((s) => {
      const v = d[s]; // data-churn_rate is dataset["churn_rate"]
      return t(s) + " " + (v === undefined ? "—" : (name === "net" ? num(+v) : pct(+v)));
    }).join(" · ");
  };
  holder.addEventListener("click", (e) => { const hit = e.target.closest(".hit"); if (hit) show(hit); });
  holder.addEventListener("mouseover", (e) => { const hit = e.target.closest(".hit"); if (hit) show(hit); });
  box.append(holder, tip);
  return box;
}

// ---- pages ----
const pages = {};
let renderSeq = 0;

pages.overview = async function (el, opts) {
  const span = opts.span || 30;
  const yesterday = addDays(TODAY, -1);
  const from = addDays(yesterday, -(span - 1));
  const daily = await must("/api/stats/daily?from=" + addDays(yesterday, -Math.max(span, 8) + 1) + "&to=" + yesterday);
  const days = daily.days;
  const y = days[days.length - 1];
  const prev7 = days.slice(-8, -1).filter((d) => d.complete);
  const netOf = (d) => d.complete ? d.new_customers - d.lost_customers - d.removed_customers : null;
  const cards = [
    ["new_customers", (d) => d.new_customers, num, true],
    ["lost_customers", (d) => d.lost_customers, num, false],
    ["removed_customers", (d) => d.removed_customers, num, false],
    ["net", netOf, num, true],
    ["churn_rate", (d) => d.churn_rate, pct, false],
  ];
  el.append(h("h1", {}, t("yesterday") + " " + yesterday));
  el.append(h("div", { class: "cards" }, cards.map(([k, get, fmt, good]) => {
    const card = h("div", { class: "card metric" + (good ? " good" : ""), "data-metric": k });
    card.append(h("div", { class: "label", text: t(k) }));
    if (!y || !y.complete) {
      card.append(h("div", { class: "value incomplete", text: t("not_rolled") }));
      return card;
    }
    const v = get(y);
    card.dataset.value = String(v);
    card.append(h("div", { class: "value", text: fmt(v) }));
    const a = prev7.length ? prev7.reduce((s, d) => s + get(d), 0) / prev7.length : null;
    if (a !== null) {
      const diff = v - a;
      const dtxt = (diff >= 0 ? "+" : "−") + (k === "churn_rate" ? (Math.abs(diff) * 100).toFixed(2) + " pp" : Math.abs(diff).toFixed(1));
      card.append(h("div", { class: "delta " + (diff > 0 ? "up" : diff < 0 ? "down" : ""), text: t("vs7") + " " + dtxt }));
    }
    return card;
  })));
  const sw = h("div", { class: "row", role: "group", "aria-label": "range" }, [30, 90].map((n) =>
    h("button", { type: "button", "aria-pressed": String(n === span), onclick: () => render({ span: n }) }, t("days" + n))));
  el.append(h("h2", { text: t("churn_chart") + " · " + t("net_chart") }), sw);
  const charts = await Promise.all([
    chart("churn", from, yesterday, t("churn_chart"), ["churn_rate"]),
    chart("net", from, yesterday, t("net_chart"), ["net"]),
    chart("cohorts", from, yesterday, t("cohort_chart"), ["rate_1d", "rate_7d", "rate_30d"]),
  ]);
  el.append(h("div", { class: "charts" }, charts));
  const all = days.slice(-span).reverse();
  const rows = opts.allRows ? all : all.slice(0, 14);
  const nr = (k, f) => ({ key: k, num: true, fmt: (r) => r.complete ? (f || num)(r[k]) : h("span", { class: "incomplete", text: t("not_rolled") }) });
  el.append(table("daily", t("daily_table"), [
    { key: "date" }, nr("customers_start"), nr("new_customers"), nr("lost_customers"), nr("removed_customers"),
    { key: "net", num: true, fmt: (r) => r.complete ? num(netOf(r)) : "", csv: netOf }, nr("customers_end"), nr("churn_rate", pct),
    { key: "complete", fmt: (r) => r.complete ? "✓" : t("not_rolled") },
  ], rows, null, all));
  if (rows.length < all.length) el.append(h("button", { type: "button", id: "all-days", onclick: () => render({ ...opts, allRows: true }) }, t("show_all", { n: all.length })));
};

// by aggregates complete rows by key.
function aggregate(days, key, fields) {
  const m = new Map();
  for (const d of days) {
    if (!d.complete) continue;
    const k = d[key] ?? "";
    const a = m.get(k) || Object.fromEntries([[key, k], ...fields.map((f) => [f, 0])]);
    for (const f of fields) {
      const v = f.includes(".") ? f.split(".").reduce((o, p) => o && o[p], d) : d[f];
      if (v !== undefined && v !== null) { a[f] += v; a["has_" + f] = true; }
    }
    if (d.channel_name) a.channel_name = d.channel_name;
    m.set(k, a);
  }
  return [...m.values()];
}
const last30 = () => "from=" + addDays(TODAY, -30) + "&to=" + addDays(TODAY, -1);

async function channelsAPI() {
  const r = await api("GET", "/api/channels");
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(explain(r));
  return Array.isArray(r.data) ? r.data : (r.data.channels || []);
}

// WINDOWS are the early-churn windows of a cohort, in days.
const WINDOWS = [1, 7, 30];

// lastRolled is the latest day of a stats answer that is rolled up: every
// day the API does not mark incomplete (a complete day without rows has
// none), counting back from to.
function lastRolled(rows, from, to) {
  const inc = new Set(rows.filter((r) => !r.complete).map((r) => r.date));
  for (let d = to; d >= from; d = addDays(d, -1)) if (!inc.has(d)) return d;
  return null;
}

// earlyChurn sums each channel's cohorts into its 1/7/30-day rates,
// weighted by cohort size. A window counts only the cohorts whose window
// has fully passed by the last rolled-up day; a rate with none is null
// (shown "—"), never 0.
function earlyChurn(cohorts, done) {
  const m = new Map();
  for (const c of cohorts) {
    if (!c.complete) continue;
    const k = c.channel ?? "";
    const a = m.get(k) || { channel: k, channel_name: "", cohort_new: 0, ...Object.fromEntries(WINDOWS.flatMap((n) => [["lost_" + n + "d", 0], ["base_" + n + "d", 0]])) };
    if (c.channel_name) a.channel_name = c.channel_name;
    a.cohort_new += c.new_customers;
    for (const n of WINDOWS) {
      if (done === null || addDays(c.date, n) > done) continue;
      a["base_" + n + "d"] += c.new_customers;
      a["lost_" + n + "d"] += c["lost_" + n + "d"];
    }
    m.set(k, a);
  }
  for (const a of m.values()) for (const n of WINDOWS) a["churn_" + n + "d"] = a["base_" + n + "d"] ? a["lost_" + n + "d"] / a["base_" + n + "d"] : null;
  return m;
}

pages.channels = async function (el, opts) {
  const span = opts.span || 30;
  const to = addDays(TODAY, -1), from = addDays(TODAY, -span), q = "from=" + from + "&to=" + to;
  // The tag library (a WeCom call behind the API) is fetched alongside the stats, not after them.
  const tagsP = api("GET", "/api/tags");
  const [stats, cohorts, list] = await Promise.all([must("/api/stats/daily?by=channel&" + q), must("/api/stats/cohorts?by=channel&" + q), channelsAPI()]);
  const byState = new Map((list || []).map((c) => [c.state, c]));
  const churned = earlyChurn(cohorts.cohorts, lastRolled(cohorts.cohorts, from, to));
  const flows = new Map(aggregate(stats.days, "channel", ["new_customers", "lost_customers", "removed_customers"]).map((r) => [r.channel, r]));
  const rows = [...new Set([...flows.keys(), ...churned.keys()])].map((k) => {
    const r = { channel: k, new_customers: 0, lost_customers: 0, removed_customers: 0, ...churned.get(k), ...flows.get(k) };
    const c = byState.get(k);
    r.name = r.channel_name || (churned.get(k) || {}).channel_name || (c && c.name) || "";
    r.lost_per_new = r.new_customers ? r.lost_customers / r.new_customers : null;
    for (const n of WINDOWS) if (r["churn_" + n + "d"] === undefined) r["churn_" + n + "d"] = null;
    return r;
  }).sort((a, b) => b.new_customers - a.new_customers);
  el.append(h("h1", { text: t("nav_channels") }));
  el.append(h("div", { class: "row", role: "group", "aria-label": "range" }, [30, 90].map((n) =>
    h("button", { type: "button", "aria-pressed": String(n === span), onclick: () => render({ span: n }) }, t("days" + n)))));
  // A channel without a name shows its state, marked 未命名.
  const nameCell = (r) => r.name ? r.name : r.channel === "" ? t("no_channel")
    : h("span", {}, r.channel, " ", h("span", { class: "badge unnamed", text: t("unnamed") }));
  const rate = (n) => ({ key: "churn_" + n + "d", num: true, csv: (r) => r["churn_" + n + "d"],
    fmt: (r) => r["churn_" + n + "d"] === null ? h("span", { class: "incomplete", title: t("none"), text: "—" })
      : h("span", { title: t("base_of", { n: num(r["base_" + n + "d"]) }) }, pct(r["churn_" + n + "d"]), " ", h("small", { class: "base", text: "n=" + num(r["base_" + n + "d"]) })) });
  el.append(table("channels", t("channel_stats", { n: span }), [
    { key: "name", label: "channel", fmt: nameCell, csv: (r) => r.name || (r.channel === "" ? t("no_channel") : "") },
    { key: "channel", label: "state" }, { key: "new_customers", num: true, fmt: (r) => num(r.new_customers) },
    { key: "lost_customers", num: true, fmt: (r) => num(r.lost_customers) }, { key: "removed_customers", num: true, fmt: (r) => num(r.removed_customers) },
    { key: "lost_per_new", num: true, fmt: (r) => pct(r.lost_per_new) },
    ...WINDOWS.map(rate),
  ], rows));
  el.append(h("p", { class: "help", id: "early-churn-help", text: t("early_churn_help") }));
  if (list === null) { el.append(h("h2", { text: t("channels_list") }), h("p", { class: "note", "data-na": "channels", text: t("channels_na") })); return; }
  const tags = await tagsP;
  const groups = tags.ok ? (Array.isArray(tags.data) ? tags.data : tags.data.groups || []) : [];
  const formBox = h("div", {});
  el.append(h("div", { class: "row gap-top" }, h("button", { type: "button", class: "primary", id: "new-channel", onclick: () => channelForm(formBox, null, groups) }, t("new_channel"))), formBox);
  el.append(table("channel-list", t("channels_list"), [
    { key: "name", fmt: (c) => c.name || h("span", { class: "incomplete", text: t("unnamed") }) }, { key: "state" },
    { key: "kind", fmt: (c) => t(c.kind), csv: (c) => c.kind },
    // WeCom answers qr_code as an http URL: an https console cannot show it inline (mixed content), so it opens as a link.
    { key: "qr_code", label: "qr", fmt: (c) => c.qr_code ? h("a", { href: c.qr_code, target: "_blank", rel: "noopener", text: t("open_qr") })
      : c.link_url ? h("a", { href: c.link_url, target: "_blank", rel: "noopener", text: c.link_url }) : "", csv: (c) => c.qr_code || c.link_url || "" },
    { key: "actions", fmt: (c) => h("div", { class: "row" },
      h("button", { type: "button", onclick: () => channelForm(formBox, c, groups) }, c.name ? t("edit") : t("name_it")),
      c.kind === "adopted" ? null : h("button", { type: "button", class: "danger", onclick: async () => {
        if (!confirm(t("confirm_delete"))) return;
        const r = await api("DELETE", "/api/channels/" + encodeURIComponent(c.id));
        if (!r.ok) return say(explain(r), "error");
        say(t("deleted"), "ok"); render();
      } }, t("del"))), csv: () => "" },
  ], list));
};

// tagPicker is the corp's tag library as checkboxes, by group, by name;
// a tag the channel carries that the library no longer has stays checked
// under its id, so that saving does not drop it unseen.
function tagPicker(groups, chosen) {
  const known = new Set(groups.flatMap((g) => (g.tags || []).map((tg) => tg.id)));
  const box = (id, name) => h("label", { class: "inline tag" }, h("input", { type: "checkbox", name: "tag", value: id, checked: chosen.has(id) }), name);
  const lost = [...chosen].filter((id) => !known.has(id));
  return h("fieldset", { class: "tags", id: "tag-picker" }, h("legend", { text: t("tags") }),
    groups.length ? groups.map((g) => h("div", { class: "taggroup", "data-group": g.id }, h("strong", { text: g.name }),
      h("div", { class: "row" }, (g.tags || []).map((tg) => box(tg.id, tg.name))))) : h("p", { class: "help", text: t("no_tags") }),
    lost.length ? h("div", { class: "row" }, lost.map((id) => box(id, id))) : null);
}

// welcomeField is a welcome's textarea with its hint: the %NICKNAME%
// placeholder and the byte limit, counted as UTF-8 as WeCom counts it.
function welcomeField(name, text) {
  const ta = h("textarea", { name, "aria-describedby": name + "-hint" }, text);
  const hint = h("span", { class: "help", id: name + "-hint", "aria-live": "polite" });
  const count = () => {
    const n = utf8Len(ta.value);
    hint.textContent = t("welcome_hint", { max: num(LIMITS.welcome_bytes), n: num(n) }) + (n > LIMITS.welcome_bytes ? " " + t("too_long") : "");
    hint.classList.toggle("error", n > LIMITS.welcome_bytes);
  };
  ta.addEventListener("input", count);
  count();
  return h("label", {}, t(name === "welcome" ? "welcome_text" : "default_welcome"), ta, hint);
}
const utf8Len = (s) => new TextEncoder().encode(s).length;

function channelForm(box, c, tagGroups) {
  box.textContent = "";
  const v = c || { kind: "contact_way", type: "single", members: [], departments: [], tags: [], skip_verify: true, welcome: null };
  const link = ((v.welcome && v.welcome.attachments) || []).find((a) => a.type === "link") || {};
  const tagIDs = new Set(v.tags || []);
  const managed = !c || c.kind !== "adopted"; // an adopted channel is only named
  const f = h("form", { class: "stack card", id: "channel-form" },
    h("label", {}, t("name"), h("input", { name: "name", value: v.name || "", required: true })),
    c ? null : h("label", {}, t("kind"), h("select", { name: "kind" }, ["contact_way", "acquisition_link"].map((k) => h("option", { value: k, selected: v.kind === k }, t(k))))),
    c ? null : h("label", {}, t("state"), h("input", { name: "state", value: v.state || "", maxlength: "30" })),
    managed ? [
      h("label", {}, t("type"), h("select", { name: "type" }, ["single", "multi"].map((k) => h("option", { value: k, selected: v.type === k }, t(k))))),
      h("label", {}, t("members"), h("input", { name: "members", value: (v.members || []).join(",") })),
      h("label", {}, t("departments"), h("input", { name: "departments", value: (v.departments || []).join(","), inputmode: "numeric" })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "skip_verify", checked: !!v.skip_verify }), t("skip_verify")),
      tagPicker(tagGroups, tagIDs),
      welcomeField("welcome", (v.welcome && v.welcome.text) || ""),
      h("label", {}, t("link_url"), h("input", { name: "link_url", type: "url", value: link.url || "" })),
      h("label", {}, t("link_title"), h("input", { name: "link_title", value: link.title || "" })),
    ] : null,
    h("label", {}, t("remark"), h("input", { name: "remark", value: v.remark || "" })),
    h("p", { class: "error", role: "alert", id: "channel-error" }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("save")), h("button", { type: "button", onclick: () => { box.textContent = ""; } }, t("cancel"))));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(f);
    const list = (s) => String(s || "").split(/[,，\s]+/).filter(Boolean);
    const body = { name: fd.get("name"), type: fd.get("type"), members: list(fd.get("members")), departments: list(fd.get("departments")).map(Number),
      skip_verify: fd.get("skip_verify") === "on", remark: fd.get("remark"), tags: fd.getAll("tag") };
    const atts = fd.get("link_url") ? [{ type: "link", url: fd.get("link_url"), title: fd.get("link_title") }] : [];
    body.welcome = fd.get("welcome") || atts.length ? { text: fd.get("welcome"), attachments: atts } : null;
    if (!c) { body.kind = fd.get("kind"); if (fd.get("state")) body.state = fd.get("state"); }
    // An adopted channel (a state seen in events, made outside Siyu) is
    // only named: WeCom holds the rest.
    const send = c && c.kind === "adopted" ? { name: body.name, remark: body.remark } : body;
    const r = c ? await api("PATCH", "/api/channels/" + encodeURIComponent(c.id), send) : await api("POST", "/api/channels", body);
    if (!r.ok) { $("#channel-error").textContent = explain(r); return; }
    say(t("saved"), "ok");
    render();
  });
  box.append(f);
  f.querySelector("input").focus();
}

pages.members = async function (el) {
  const stats = await must("/api/stats/daily?by=member&" + last30());
  // WeCom's numbers exist only for the days the nightly sync read: compare
  // them with Siyu's of those same days.
  const m = new Map();
  for (const d of stats.days) {
    if (!d.complete) continue;
    const r = m.get(d.member) || { member: d.member, added: 0, deleted_by_customer: 0, deleted_by_member: 0, wecom_new: null, wecom_neg: null, siyu_new: 0, siyu_neg: 0 };
    const rel = d.relationships || {};
    r.added += rel.added || 0; r.deleted_by_customer += rel.deleted_by_customer || 0; r.deleted_by_member += rel.deleted_by_member || 0;
    if (d.wecom_new_contact_cnt !== undefined && d.wecom_new_contact_cnt !== null) {
      r.wecom_new = (r.wecom_new || 0) + d.wecom_new_contact_cnt; r.siyu_new += rel.added || 0;
      r.wecom_neg = (r.wecom_neg || 0) + (d.wecom_negative_feedback_cnt || 0); r.siyu_neg += rel.deleted_by_customer || 0;
    }
    m.set(d.member, r);
  }
  const rows = [...m.values()].map((r) => ({ ...r, disagree: r.wecom_new !== null && (r.wecom_new !== r.siyu_new || r.wecom_neg !== r.siyu_neg) }))
    .sort((a, b) => b.added - a.added);
  el.append(h("h1", { text: t("nav_members") }), h("p", { class: "help", text: t("disagree_note") }));
  const vs = (w, sy) => (r) => r[w] === null ? "—" : r[w] === r[sy] ? num(r[w]) : num(r[w]) + " ≠ " + num(r[sy]);
  el.append(table("members", t("member_stats"), [
    { key: "member" }, { key: "added", num: true }, { key: "deleted_by_customer", num: true }, { key: "deleted_by_member", num: true },
    { key: "wecom_new", num: true, fmt: vs("wecom_new", "siyu_new") }, { key: "wecom_neg", num: true, fmt: vs("wecom_neg", "siyu_neg") },
    { key: "disagree", fmt: (r) => r.disagree ? "⚠ " + t("disagree") : "" },
  ], rows, (r) => r.disagree));
};

pages.groups = async function (el) {
  const stats = await must("/api/stats/groups?" + last30());
  const m = new Map();
  for (const d of stats.groups) {
    if (!d.complete) continue;
    const g = m.get(d.chat_id) || { chat_id: d.chat_id, name: "", start: d.members_start, joins: 0, quits_self: 0, quits_removed: 0 };
    g.name = d.name || g.name;
    g.joins += d.joins; g.quits_self += d.quits_self; g.quits_removed += d.quits_removed; g.members_now = d.members_end;
    m.set(d.chat_id, g);
  }
  const rows = [...m.values()].map((g) => ({ ...g, quit_rate: g.start + g.joins ? (g.quits_self + g.quits_removed) / (g.start + g.joins) : null }))
    .sort((a, b) => (b.quit_rate || 0) - (a.quit_rate || 0));
  el.append(h("h1", { text: t("nav_groups") }));
  // A group the sync has not read yet shows its chat_id, marked 未命名.
  const nameCell = (r) => r.name ? r.name : h("span", {}, r.chat_id, " ", h("span", { class: "badge unnamed", text: t("unnamed") }));
  el.append(table("groups", t("group_stats"), [
    { key: "name", label: "group", fmt: nameCell, csv: (r) => r.name }, { key: "chat_id" }, { key: "joins", num: true }, { key: "quits_self", num: true }, { key: "quits_removed", num: true },
    { key: "members_now", num: true }, { key: "quit_rate", num: true, fmt: (r) => pct(r.quit_rate) },
  ], rows));
};

// ---- posts ----
pages.posts = async function (el, opts) {
  const view = opts.view || "week";
  const anchor = opts.anchor || TODAY;
  let from, to;
  if (view === "week") { from = addDays(anchor, -dow(anchor)); to = addDays(from, 6); }
  else { const first = anchor.slice(0, 8) + "01"; from = addDays(first, -dow(first)); to = addDays(from, 41); }
  const data = await must("/api/posts?from=" + from + "&to=" + to);
  const posts = data.posts.slice().sort((a, b) => a.send_at < b.send_at ? -1 : 1);
  el.append(h("h1", { text: t("posts_title") }));
  const step = view === "week" ? 7 : 0;
  const move = (dir) => {
    if (step) return addDays(anchor, dir * 7);
    const [y, m] = anchor.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1 + dir, 1)).toISOString().slice(0, 10);
  };
  el.append(h("div", { class: "row" },
    ["week", "month"].map((v) => h("button", { type: "button", "aria-pressed": String(v === view), "data-view": v, onclick: () => render({ view: v, anchor }) }, t(v))),
    h("button", { type: "button", "aria-label": t("prev"), onclick: () => render({ view, anchor: move(-1) }) }, "‹"),
    h("button", { type: "button", onclick: () => render({ view }) }, t("this_period")),
    h("button", { type: "button", "aria-label": t("next"), onclick: () => render({ view, anchor: move(1) }) }, "›"),
    h("strong", { text: from + " – " + to }),
    h("button", { type: "button", class: "primary spacer", id: "new-post", onclick: () => postForm(formBox, null, opts) }, t("new_post"))));
  const formBox = h("div", {});
  el.append(formBox);
  const cal = h("div", { class: "cal " + view, "data-calendar": view });
  const dows = lang === "en" ? ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] : ["一", "二", "三", "四", "五", "六", "日"];
  if (view === "month") for (const d of dows) cal.append(h("div", { class: "dow", text: d }));
  const byDay = new Map();
  for (const p of posts) { const d = dayOf(p.send_at); byDay.set(d, [...(byDay.get(d) || []), p]); }
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const cap = data.cap[d];
    const cell = h("div", { class: "day" + (d === TODAY ? " today" : "") + (view === "month" && d.slice(0, 7) !== anchor.slice(0, 7) ? " other" : ""), "data-day": d },
      h("div", { class: "d" }, h("span", { text: view === "week" ? d.slice(5) + " " + dows[dow(d)] : String(+d.slice(8)) }),
        cap ? h("span", { class: "cap" + (cap.moments >= cap.limit ? " full" : ""), title: t("cap"), text: cap.moments + "/" + cap.limit }) : null));
    for (const p of byDay.get(d) || []) {
      cell.append(h("span", { class: "chip " + p.kind + " " + p.status, "data-post": p.id, title: p.text || "" }, timeOf(p.send_at) + " " + (p.text || t(p.kind))));
    }
    cal.append(cell);
  }
  el.append(cal, h("p", { class: "help", text: t("cap_help") }));
  el.append(table("posts", t("posts_list"), [
    { key: "send_at", fmt: (p) => fmtTime(p.send_at), csv: (p) => fmtTime(p.send_at) }, { key: "kind", fmt: (p) => t(p.kind), csv: (p) => p.kind },
    { key: "status", fmt: (p) => h("span", { class: "badge " + p.status, text: t(p.status === "failed" ? "failed_s" : p.status) }), csv: (p) => p.status },
    { key: "text", fmt: (p) => (p.text || "").slice(0, 60) }, { key: "last_error", fmt: (p) => p.last_error || p.errmsg || "", csv: (p) => p.last_error || p.errmsg || "" },
    { key: "actions", csv: () => "", fmt: (p) => p.status !== "scheduled" ? "" : h("div", { class: "row" },
      // Editing recreates the post: only one whose media come by URL can be.
      (p.attachments || []).every((a) => a.type === "link" || a.url) ? h("button", { type: "button", "data-edit": p.id, onclick: () => postForm(formBox, p, opts) }, t("edit")) : null,
      h("button", { type: "button", class: "danger", "data-cancel": p.id, onclick: async () => {
        if (!confirm(t("confirm_cancel"))) return;
        const r = await api("DELETE", "/api/posts/" + encodeURIComponent(p.id));
        if (!r.ok) return say(explain(r), "error");
        say(t("canceled"), "ok"); render(opts);
      } }, t("cancel_post"))) },
  ], posts));
};

function postForm(box, p, opts) {
  box.textContent = "";
  const v = p || { kind: "moment", send_at: null, text: "", chat_type: "single", visible_range: {} };
  const link = (v.attachments || []).find((a) => a.type === "link") || {};
  const date = v.send_at ? dayOf(v.send_at) : addDays(TODAY, 1), time = v.send_at ? timeOf(v.send_at) : "09:00";
  const err = h("div", { class: "error", role: "alert", id: "post-error" });
  const f = h("form", { class: "stack card", id: "post-form" },
    h("h2", { text: p ? t("edit_post") : t("new_post") }),
    h("label", {}, t("kind"), h("select", { name: "kind", id: "post-kind" }, ["moment", "group_message"].map((k) => h("option", { value: k, selected: v.kind === k }, t(k))))),
    h("div", { class: "row" }, h("label", {}, t("send_date"), h("input", { type: "date", name: "date", value: date, required: true })),
      h("label", {}, t("send_time"), h("input", { type: "time", name: "time", value: time, required: true }))),
    h("label", {}, t("text"), h("textarea", { name: "text", id: "post-text" }, v.text || "")),
    h("label", {}, t("link_url"), h("input", { type: "url", name: "link_url", value: link.original_url || link.url || "" })),
    h("label", {}, t("link_title"), h("input", { name: "link_title", value: link.title || "" })),
    h("label", {}, t("link_cover"), h("input", { type: "url", name: "link_cover", value: link.cover_url || "" })),
    h("label", {}, t("visible"), h("input", { name: "members", value: ((v.visible_range || {}).members || []).join(",") })),
    h("fieldset", { class: "gm" }, h("legend", { text: t("group_message") }),
      h("label", {}, t("chat_type"), h("select", { name: "chat_type" }, h("option", { value: "single", selected: v.chat_type !== "group" }, t("chat_single")), h("option", { value: "group", selected: v.chat_type === "group" }, t("chat_group")))),
      h("label", {}, t("sender"), h("input", { name: "sender", value: v.sender || "" }))),
    err,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, p ? t("save") : t("create")), h("button", { type: "button", onclick: () => { box.textContent = ""; } }, t("cancel"))));
  const draft = (ifFull) => {
    const fd = new FormData(f);
    const list = (s) => String(s || "").split(/[,，\s]+/).filter(Boolean);
    const d = { kind: fd.get("kind"), send_at: zonedToISO(fd.get("date"), fd.get("time")), text: fd.get("text") };
    // An edit keeps what the form does not show: media by URL, departments,
    // tags and a group message's recipients.
    const kept = (v.attachments || []).filter((a) => a.type !== "link").map((a) => ({ type: a.type, url: a.url, filename: a.filename, title: a.title, desc: a.desc, cover_url: a.cover_url }));
    if (fd.get("link_url")) kept.push({ type: "link", url: fd.get("link_url"), title: fd.get("link_title") || fd.get("link_url"), desc: link.desc, cover_url: fd.get("link_cover") || undefined });
    if (kept.length) d.attachments = kept;
    const vr = { ...(v.visible_range || {}), members: list(fd.get("members")) };
    if (vr.members.length || (vr.departments || []).length || (vr.customer_tags || []).length) d.visible_range = vr;
    if (d.kind === "group_message") {
      d.chat_type = fd.get("chat_type"); d.sender = fd.get("sender");
      if (v.external_userids) d.external_userids = v.external_userids;
      if (v.chat_ids) d.chat_ids = v.chat_ids;
    }
    if (ifFull) d.if_full = ifFull;
    return d;
  };
  const submit = async (ifFull) => {
    err.textContent = "";
    const d = draft(ifFull);
    // Editing is cancel and create again (the API has no edit): if the
    // new post is refused, the old one is scheduled again as it was.
    if (p) {
      const c = await api("DELETE", "/api/posts/" + encodeURIComponent(p.id));
      if (!c.ok) { err.textContent = explain(c); return; }
    }
    const r = await api("POST", "/api/posts", d);
    if (r.ok) {
      say(t(p ? "saved" : "created") + "：" + fmtTime(r.data.send_at), "ok");
      render({ ...opts, anchor: dayOf(r.data.send_at) });
      return;
    }
    if (p) {
      const back = { kind: p.kind, send_at: p.send_at, text: p.text || "", attachments: p.attachments,
        visible_range: p.visible_range, chat_type: p.chat_type, sender: p.sender, external_userids: p.external_userids, chat_ids: p.chat_ids, if_full: "next_free_slot" };
      await api("POST", "/api/posts", back);
    }
    err.textContent = explain(r);
    if (r.status === 409 && r.data && r.data.error && r.data.error.code === "cap_reached") {
      err.append(" ", h("button", { type: "button", id: "next-slot", onclick: () => submit("next_free_slot") }, t("next_slot")));
    }
  };
  f.addEventListener("submit", (e) => { e.preventDefault(); submit(""); });
  box.append(f);
  $("#post-text").focus();
}

pages.moments = async function (el) {
  const from = addDays(TODAY, -29);
  const [st, pl] = await Promise.all([must("/api/stats/moments?from=" + from + "&to=" + TODAY), must("/api/posts?from=" + from + "&to=" + TODAY)]);
  const texts = new Map(pl.posts.map((p) => [p.id, p.text || ""]));
  const rows = (st.posts || []).map((f) => ({ ...f, text: texts.get(f.post_id) || "" }));
  el.append(h("h1", { text: t("moments_title") }));
  // Best and worst by click rate, by engagement while nobody has clicked.
  const clicked = rows.some((r) => r.clicks > 0);
  const key = clicked ? "click_rate" : "engagement_rate";
  const ranked = rows.filter((r) => r.customers_reached > 0).sort((a, b) => b[key] - a[key]);
  if (ranked.length) {
    const card = (k, r) => h("div", { class: "card metric", "data-rank": k }, h("div", { class: "label", text: t(k) + " · " + t(key) }),
      h("div", { class: "value", text: pct(r[key]) }), h("div", { class: "delta", text: (r.text || r.post_id).slice(0, 40) }));
    el.append(h("div", { class: "cards" }, card("best", ranked[0]), ranked.length > 1 ? card("worst", ranked[ranked.length - 1]) : null));
  }
  const rate = (k) => ({ key: k, num: true, fmt: (r) => pct(r[k]) });
  el.append(table("moments", t("funnel"), [
    { key: "post_id", label: "post", fmt: (r) => (r.text || r.post_id).slice(0, 40), csv: (r) => r.post_id },
    { key: "kind", fmt: (r) => t(r.kind), csv: (r) => r.kind },
    { key: "members_targeted", label: "targeted", num: true }, { key: "members_published", label: "published", num: true },
    { key: "customers_reached", label: "reached", num: true }, { key: "customers_engaged", label: "engaged", num: true },
    { key: "unique_clickers", label: "clicks", num: true }, { key: "conversions", num: true }, { key: "conversion_value", label: "value", num: true },
    rate("publish_rate"), rate("engagement_rate"), rate("click_rate"), rate("conversion_rate"),
  ], rows));
  el.append(h("p", { class: "help", text: t("funnel_help") }));
};

// checkSettings is the API's settings rule, checked before sending: the
// first problem in words, or "".
function checkSettings(d) {
  const whole = (v, max) => Number.isInteger(v) && v >= 1 && v <= max;
  const da = d.deletion_alert;
  if (!whole(da.threshold, LIMITS.threshold)) return ["threshold", t("bad_threshold", { max: LIMITS.threshold })];
  if (!whole(da.window_minutes, LIMITS.window_minutes)) return ["window", t("bad_window", { max: LIMITS.window_minutes })];
  if (da.admins.length > LIMITS.admins) return ["admins", t("bad_admins", { max: LIMITS.admins, n: da.admins.length })];
  const badID = da.admins.find((a) => [...a].length > 64);
  if (badID) return ["admins", t("bad_admin_id", { id: badID })];
  const n = d.default_welcome ? utf8Len(d.default_welcome.text || "") : 0;
  if (n > LIMITS.welcome_bytes) return ["welcome", t("bad_welcome", { max: LIMITS.welcome_bytes, n })];
  return null;
}

pages.settings = async function (el) {
  el.append(h("h1", { text: t("settings_title") }));
  const r = await api("GET", "/api/settings");
  if (r.status === 404) { el.append(h("p", { class: "note", "data-na": "settings", text: t("settings_na") })); return; }
  if (!r.ok) throw new Error(explain(r));
  // The version read: a save sends it as If-Match, so that a change made
  // meanwhile by someone else is refused (409) rather than overwritten.
  let s = r.data, etag = r.etag;
  const da = s.deletion_alert || {};
  const err = h("p", { class: "error", role: "alert", id: "settings-error" });
  const f = h("form", { class: "stack card", id: "settings-form", novalidate: true },
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "churn", checked: !!(s.churn_alert || {}).enabled }), t("churn_alert")),
    h("fieldset", {}, h("legend", { text: t("deletion_alert") }),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "del", checked: !!da.enabled }), t("enabled")),
      h("div", { class: "row pair" },
        h("label", {}, t("threshold"), h("input", { type: "number", min: "1", max: String(LIMITS.threshold), step: "1", name: "threshold", value: da.threshold ?? "", inputmode: "numeric" })),
        h("label", {}, t("window"), h("input", { type: "number", min: "1", max: String(LIMITS.window_minutes), step: "1", name: "window", value: da.window_minutes ?? "", inputmode: "numeric" }))),
      h("label", {}, t("admins"), h("input", { name: "admins", value: (da.admins || []).join(",") }))),
    welcomeField("default_welcome", (s.default_welcome && s.default_welcome.text) || ""),
    h("label", {}, t("report_lang"), h("select", { name: "report_lang" }, [["", t("lang_default")], ["zh-CN", "中文"], ["en", "English"]].map(([v, l]) => h("option", { value: v, selected: (s.report_lang || "") === v }, l)))),
    err, h("button", { type: "submit", class: "primary" }, t("save")));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const fd = new FormData(f);
    const int = (k) => String(fd.get(k)).trim() === "" ? NaN : Number(fd.get(k));
    const welcome = String(fd.get("default_welcome") || "");
    const body = { ...s, churn_alert: { enabled: fd.get("churn") === "on" },
      deletion_alert: { enabled: fd.get("del") === "on", threshold: int("threshold"), window_minutes: int("window"),
        admins: String(fd.get("admins")).split(/[,，\s]+/).filter(Boolean) },
      default_welcome: welcome ? { ...(s.default_welcome || {}), text: welcome } : null, report_lang: fd.get("report_lang") };
    const bad = checkSettings(body);
    if (bad) { err.textContent = t("err_400") + "：" + bad[1]; f.querySelector("[name=" + bad[0] + "]").focus(); return; }
    delete body.updated_at;
    const w = await api("PUT", "/api/settings", body, etag ? { "If-Match": etag } : {});
    if (w.status === 409) {
      err.textContent = t("err_settings_409");
      err.append(" ", h("button", { type: "button", id: "settings-reload", onclick: () => render() }, t("reload")));
      return;
    }
    if (!w.ok) { err.textContent = explain(w); return; }
    s = w.data; etag = w.etag;
    say(t("saved"), "ok");
  });
  el.append(f);
};

// ---- frame ----
function chrome() {
  document.documentElement.lang = lang;
  document.title = t("brand");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  $("#lang").textContent = t("switch");
  $("#tz").textContent = t("tz") + " " + TZ;
}

async function render(opts) {
  const page = (location.hash.slice(1) || "overview").split("?")[0];
  const fn = pages[page] || pages.overview;
  const seq = ++renderSeq;
  for (const a of document.querySelectorAll("#nav a")) a.setAttribute("aria-current", a.dataset.page === page ? "page" : "false");
  const el = h("div", { "data-page": page, "aria-busy": "true" });
  const started = performance.now();
  try {
    await fn(el, opts || {});
  } catch (e) {
    el.append(h("p", { class: "error", role: "alert", text: e.message }));
  }
  if (seq !== renderSeq) return;
  el.setAttribute("aria-busy", "false");
  el.dataset.renderMs = String(Math.round(performance.now() - started));
  main().replaceChildren(el);
  if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
  document.body.dataset.ready = page;
}

$("#lang").addEventListener("click", () => {
  lang = lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("siyu.lang", lang);
  chrome();
  render();
});
window.addEventListener("hashchange", () => { say(""); render(); });
chrome();
main().append(h("p", { class: "help", text: t("loading") }));
render();
