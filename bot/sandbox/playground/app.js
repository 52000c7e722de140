// carebot playground: a customer's private chat with the bot and the staff group, side by
// side, driven through the sandbox's control API (/sandbox/...). Plain JS, no build step.
// The sandbox keeps all state, so a reload shows the same chats.
"use strict";

const STAFF_NAME = "Staff Agent";
const STAFF_GROUP = "Care staff";
const DEFAULT_PHONE = "+8613800138000";
const STICKERS = ["😀", "👍", "🎉", "🐼", "🌕", "❤️"];
const CUSTOMER_KEY = "carebot-playground-customer";
// The bot's rights in a staff group the page creates, as an operator would set them.
const STAFF_BOT_RIGHTS = {
  can_manage_chat: true,
  can_delete_messages: true,
  can_pin_messages: true,
  can_manage_topics: true,
};

const $ = (id) => document.getElementById(id);

const state = {
  version: -1,
  users: [],
  staff: null,
  group: null,
  customer: null,
  transcripts: { customer: [], staff: [] },
  commands: [],
  // The message each pane's next message replies to (null: none), as in Telegram.
  replyTo: { customer: null, staff: null },
  // Bot messages asking for a reply (ForceReply) already seen, as "chat:message", and
  // the chats loaded once: a prompt that arrives later opens a reply to it by itself.
  forceSeen: new Set(),
  primed: new Set(),
  // The staff group as a forum: its topics (General first) and the one shown (null:
  // General). In plain mode every message shows in one flow.
  topics: [],
  topic: null,
  // The Business account's live connection (null: none yet), its owner, every
  // connection's owner (they are the company, not customers), and which of the
  // customer's two chats the left pane shows: "bot" or "business".
  business: null,
  businessOwner: null,
  ownerIds: new Set(),
  view: "bot",
};

// -- control API ---------------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/sandbox" + path, init);
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  }
  return data;
}

function sendAs(chatId, fromId, content) {
  return api("POST", "/messages", { chat_id: chatId, from_id: fromId, ...content }).catch((error) =>
    toast(`Could not send: ${error.message}`, true),
  );
}

// -- start-up --------------------------------------------------------------------------

async function bootstrap() {
  const now = await api("GET", "/events?after=-1");
  state.version = now.version;
  let [users, chats] = await Promise.all([api("GET", "/users"), api("GET", "/chats")]);
  let staff = users.find((user) => user.first_name === STAFF_NAME);
  if (!staff) {
    staff = await api("POST", "/users", { first_name: STAFF_NAME, language_code: "en" });
    users = [...users, staff];
  }
  let group = chats.find((chat) => chat.type !== "private" && chat.title === STAFF_GROUP);
  if (!group) {
    group = await api("POST", "/groups", {
      title: STAFF_GROUP,
      member_ids: [staff.id],
      bot_rights: STAFF_BOT_RIGHTS,
    });
  }
  state.staff = staff;
  state.group = group;
  state.users = users;
  await loadBusiness();
  $("staff-title").textContent = group.title;
  $("staff-sub").textContent = `group ${group.id} · you are ${staff.first_name}`;
  setEnabled("staff", true);

  const customers = customerList();
  const remembered = Number(localStorage.getItem(CUSTOMER_KEY));
  const chosen =
    customers.find((user) => user.id === remembered) || customers[customers.length - 1] || null;
  renderCustomerSelect();
  await setCustomer(chosen);
  await refresh("staff");
}

function customerList() {
  return state.users.filter(
    (user) => (!state.staff || user.id !== state.staff.id) && !state.ownerIds.has(user.id),
  );
}

async function refreshUsers() {
  state.users = await api("GET", "/users");
  if (state.customer) {
    state.customer = state.users.find((user) => user.id === state.customer.id) || state.customer;
  }
  renderCustomerSelect();
}

function renderCustomerSelect() {
  const select = $("customer-select");
  const customers = customerList();
  select.replaceChildren();
  if (customers.length === 0) {
    select.append(new Option("(none yet)", ""));
  }
  for (const user of customers) {
    const language = user.language_code ? ` · ${user.language_code}` : "";
    select.append(new Option(`${user.first_name}${language} (${user.id})`, String(user.id)));
  }
  if (state.customer) select.value = String(state.customer.id);
}

async function setCustomer(user) {
  state.customer = user;
  if (user) localStorage.setItem(CUSTOMER_KEY, String(user.id));
  $("customer-title").textContent = user ? user.first_name : "Bot";
  renderCustomerSub();
  setEnabled("customer", Boolean(user));
  if (state.replyTo.customer && state.replyTo.customer.chatId !== (user && user.id)) {
    clearReply("customer");
  }
  renderCustomerSelect();
  if (user) {
    await refresh("customer");
  } else {
    state.transcripts.customer = [];
    renderChat("customer");
  }
}

function setEnabled(pane, enabled) {
  const ids =
    pane === "customer"
      ? ["customer-input", "customer-send", "customer-send-photo", "customer-send-sticker"]
      : ["staff-input", "staff-send"];
  for (const id of ids) $(id).disabled = !enabled;
}

// -- live updates ------------------------------------------------------------------------

async function refresh(pane) {
  const chat = pane === "customer" ? state.customer : state.group;
  if (!chat) return;
  if (pane === "staff") await refreshGroup();
  const business = pane === "customer" && inBusiness() ? state.business : null;
  const path = business
    ? `/business/connections/${encodeURIComponent(business.id)}/chats/${chat.id}/transcript`
    : `/chats/${chat.id}/transcript`;
  const transcript = await api("GET", path);
  const now = pane === "customer" ? state.customer : state.group;
  if (!now || now.id !== chat.id) return; // another customer was chosen meanwhile
  if (pane === "customer" && (inBusiness() ? state.business : null) !== business) return;
  state.transcripts[pane] = transcript;
  followForceReply(pane, pane === "customer" ? customerChatKey(chat.id) : chat.id, transcript);
  if (pane === "staff") renderTopics();
  if (pane === "customer") {
    state.commands = await api("GET", "/commands");
    renderCommands();
  }
  renderChat(pane);
}

async function eventsLoop() {
  for (;;) {
    try {
      const event = await api("GET", `/events?after=${state.version}&timeout=25`);
      setConnection(true);
      if (event.reset) {
        await bootstrap();
        continue;
      }
      state.version = event.version;
      const changed = new Set(event.chats_changed);
      if ([...changed].some((id) => id > 0 && !state.users.some((u) => u.id === id))) {
        await refreshUsers();
      } else if (state.customer && changed.has(state.customer.id)) {
        await refreshUsers();
      }
      if (state.customer && changed.has(state.customer.id)) await refresh("customer");
      if (state.group && changed.has(state.group.id)) await refresh("staff");
    } catch (error) {
      setConnection(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function setConnection(ok) {
  const element = $("connection");
  element.textContent = ok ? "live" : "sandbox unreachable, retrying…";
  element.className = "connection " + (ok ? "ok" : "bad");
}

// -- replying to a message ----------------------------------------------------------------

function followForceReply(pane, chatId, transcript) {
  // Like Telegram's apps: a new bot message that asks for a reply (ForceReply) opens a
  // reply to it. Prompts already there when the chat was first loaded do not.
  const fresh = transcript.filter(
    (message) => message.force_reply && !state.forceSeen.has(`${chatId}:${message.message_id}`),
  );
  for (const message of fresh) state.forceSeen.add(`${chatId}:${message.message_id}`);
  const current = state.replyTo[pane];
  if (current && !transcript.some((message) => message.message_id === current.message.message_id)) {
    clearReply(pane); // the message was deleted
  }
  if (state.primed.has(chatId) && fresh.length) {
    const prompt = fresh[fresh.length - 1];
    if (pane === "staff" && isForum()) state.topic = threadOf(prompt); // open its topic
    setReply(pane, prompt, false);
  }
  state.primed.add(chatId);
}

function setReply(pane, message, focus = true) {
  const chat = pane === "customer" ? state.customer : state.group;
  if (!chat) return;
  state.replyTo[pane] = { chatId: chat.id, message };
  renderReplyBar(pane);
  renderChat(pane);
  if (focus) $(`${pane}-input`).focus();
}

function clearReply(pane) {
  if (!state.replyTo[pane]) return;
  state.replyTo[pane] = null;
  renderReplyBar(pane);
  renderChat(pane);
}

function renderReplyBar(pane) {
  const target = state.replyTo[pane];
  $(`${pane}-reply-bar`).hidden = !target;
  if (!target) return;
  $(`${pane}-reply-title`).textContent = `Reply to ${target.message.from.first_name}`;
  $(`${pane}-reply-quote`).textContent = summary(target.message);
}

function replyParameters(pane) {
  const target = state.replyTo[pane];
  return target ? { reply_to_message_id: target.message.message_id } : {};
}

// -- rendering ---------------------------------------------------------------------------

function renderChat(pane) {
  const container = $(pane === "customer" ? "customer-chat" : "staff-chat");
  const me = pane === "customer" ? state.customer : state.staff;
  const all = state.transcripts[pane];
  const messages =
    pane === "staff" && isForum() ? all.filter((m) => threadOf(m) === state.topic) : all;
  const atBottom = container.scrollTop + container.clientHeight >= container.scrollHeight - 60;
  const grew = Number(container.dataset.count || 0) !== messages.length;
  const byId = new Map(all.map((message) => [message.message_id, message]));
  container.replaceChildren();
  if (messages.length === 0) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent =
      pane === "customer"
        ? me
          ? "Say hello, or send /start"
          : "Create a customer above to start chatting"
        : isForum()
          ? "Nothing in this topic yet"
          : "Nothing in the staff group yet";
    container.append(empty);
  }
  for (const message of messages) {
    container.append(
      isService(message) ? renderService(message) : renderMessage(message, pane, me, byId),
    );
  }
  container.dataset.count = String(messages.length);
  if (atBottom || grew) container.scrollTop = container.scrollHeight;
  renderReplyKeyboard(pane, me);
}

function renderMessage(message, pane, me, byId) {
  const mine = me && message.from.id === me.id;
  const wrapper = document.createElement("div");
  wrapper.className = `msg ${mine ? "right" : "left"}`;
  if (message.sticker) wrapper.classList.add("sticker");
  wrapper.dataset.testid = "message";
  wrapper.dataset.messageId = String(message.message_id);
  wrapper.dataset.from = message.from.is_bot ? "bot" : "user";
  const target = state.replyTo[pane];
  if (target && target.message.message_id === message.message_id) wrapper.classList.add("replying");

  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.sender_business_bot) {
    // Sent by the bot on the Business account's behalf: the customer sees the account.
    const via = document.createElement("div");
    via.className = "via-bot";
    via.dataset.testid = "via-bot";
    via.textContent = `${state.business ? state.business.user.first_name : "Business"} · sent by the bot`;
    bubble.append(via);
  }
  if (pane === "staff" && !mine) {
    const sender = document.createElement("div");
    sender.className = "sender" + (message.from.is_bot ? " bot" : "");
    sender.textContent = message.from.first_name;
    bubble.append(sender);
  }
  if (message.forward_origin) {
    const origin = message.forward_origin;
    const name =
      (origin.sender_user && origin.sender_user.first_name) ||
      origin.sender_user_name ||
      (origin.chat && origin.chat.title) ||
      "someone";
    const forwarded = document.createElement("div");
    forwarded.className = "forwarded";
    forwarded.textContent = `Forwarded from ${name}`;
    bubble.append(forwarded);
  }
  if (message.reply_to_message_id) {
    const replied = byId.get(message.reply_to_message_id);
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.dataset.testid = "quote";
    if (replied) {
      const sender = document.createElement("span");
      sender.className = "quote-sender";
      sender.textContent = replied.from.first_name;
      quote.append(sender, summary(replied));
      quote.title = "Show the message replied to";
      quote.addEventListener("click", () => showMessage(pane, replied.message_id));
    } else {
      quote.textContent = "(deleted message)";
    }
    bubble.append(quote);
  }
  bubble.append(renderContent(message));
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = (message.edit_date ? "edited " : "") + clock(message.date);
  bubble.append(meta);
  wrapper.append(bubble);
  if (message.reactions) {
    const reactions = document.createElement("div");
    reactions.className = "reactions";
    for (const reaction of message.reactions) {
      const chip = document.createElement("span");
      chip.className = "reaction";
      chip.dataset.testid = "reaction";
      chip.textContent = reaction.emoji || "★";
      reactions.append(chip);
    }
    wrapper.append(reactions);
  }
  bubble.addEventListener("dblclick", () => setReply(pane, message));
  const reply = document.createElement("button");
  reply.type = "button";
  reply.className = "reply-to";
  reply.textContent = "↩";
  reply.title = "Reply to this message";
  reply.setAttribute("aria-label", "Reply");
  reply.dataset.testid = "reply-to";
  reply.addEventListener("click", () => setReply(pane, message));
  wrapper.append(reply);

  if (message.reply_markup && message.reply_markup.inline_keyboard) {
    wrapper.append(renderInlineKeyboard(message, pane, me));
  }
  return wrapper;
}

function renderContent(message) {
  const body = document.createElement("div");
  body.className = "content";
  if (message.photo) {
    const size = message.photo[message.photo.length - 1];
    const image = document.createElement("img");
    image.className = "photo";
    image.alt = "photo";
    image.src = `/sandbox/files/${encodeURIComponent(size.file_id)}`;
    body.append(image);
  }
  if (message.sticker) {
    const sticker = document.createElement("div");
    sticker.className = "sticker";
    sticker.textContent = message.sticker.emoji || "🖼";
    sticker.title = "sticker";
    body.append(sticker);
  }
  if (message.document) {
    const file = document.createElement("div");
    file.className = "file";
    const link = document.createElement("a");
    link.href = `/sandbox/files/${encodeURIComponent(message.document.file_id)}`;
    link.download = message.document.file_name || "file";
    link.textContent = `📄 ${message.document.file_name || "file"}`;
    const size = document.createElement("span");
    size.className = "pane-sub";
    size.textContent = bytes(message.document.file_size);
    file.append(link, size);
    body.append(file);
  }
  if (message.voice) {
    const voice = document.createElement("div");
    voice.textContent = `🎤 voice message · ${message.voice.duration || 0} s`;
    body.append(voice);
  }
  if (message.contact) {
    const contact = document.createElement("div");
    const name = [message.contact.first_name, message.contact.last_name].filter(Boolean).join(" ");
    contact.textContent = `📇 ${name}\n${message.contact.phone_number}`;
    body.append(contact);
  }
  const text = message.text !== undefined ? message.text : message.caption;
  if (text) {
    const block = document.createElement("div");
    block.className = "text";
    renderFormatted(block, text, message.parse_mode);
    body.append(block);
  }
  return body;
}

function renderInlineKeyboard(message, pane, me) {
  const keyboard = document.createElement("div");
  keyboard.className = "inline-keyboard";
  for (const row of message.reply_markup.inline_keyboard) {
    const line = document.createElement("div");
    line.className = "inline-row";
    for (const button of row) {
      if (button.url) {
        const link = document.createElement("a");
        link.href = button.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = `${button.text} ↗`;
        link.dataset.testid = "inline-button";
        line.append(link);
        continue;
      }
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = button.text;
      element.dataset.testid = "inline-button";
      if (button.callback_data !== undefined) {
        element.dataset.callbackData = button.callback_data;
        element.addEventListener("click", () => press(element, pane, me, message, button));
      } else {
        element.disabled = true;
        element.title = "This kind of button does nothing in the playground";
      }
      line.append(element);
    }
    keyboard.append(line);
  }
  return keyboard;
}

async function press(element, pane, me, message, button) {
  const chat = pane === "customer" ? state.customer : state.group;
  if (!chat || !me) return;
  element.classList.add("pending");
  try {
    const business = pane === "customer" && inBusiness() ? state.business : null;
    const { callback_query_id: id } = business
      ? await api("POST", `/business/connections/${encodeURIComponent(business.id)}/callbacks`, {
          from_id: me.id,
          message_id: message.message_id,
          data: button.callback_data,
        })
      : await api("POST", "/callbacks", {
          chat_id: chat.id,
          from_id: me.id,
          message_id: message.message_id,
          data: button.callback_data,
        });
    const answer = await api("GET", `/callbacks/${encodeURIComponent(id)}?timeout=15`);
    if (!answer.answered) toast("The bot did not answer this button press", true);
    else if (answer.text) toast(answer.text, answer.show_alert);
  } catch (error) {
    toast(`Press failed: ${error.message}`, true);
  } finally {
    element.classList.remove("pending");
  }
}

function activeReplyKeyboard(pane, me) {
  const messages = state.transcripts[pane];
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (!message.reply_keyboard) continue;
    const answered = messages
      .slice(index + 1)
      .some((later) => me && later.from.id === me.id && !later.from.is_bot);
    if (message.reply_keyboard.one_time_keyboard && answered) return null;
    return message.reply_keyboard;
  }
  return null;
}

function renderReplyKeyboard(pane, me) {
  const container = $(pane === "customer" ? "customer-keyboard" : "staff-keyboard");
  container.replaceChildren();
  const keyboard = activeReplyKeyboard(pane, me);
  if (!keyboard) return;
  for (const row of keyboard.keyboard) {
    const line = document.createElement("div");
    line.className = "reply-row";
    for (const raw of row) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = (button.request_contact ? "📱 " : "") + button.text;
      element.dataset.testid = "reply-button";
      if (button.request_contact) element.classList.add("contact");
      element.addEventListener("click", () => replyButton(pane, me, button));
      line.append(element);
    }
    container.append(line);
  }
  if (keyboard.input_field_placeholder) {
    $(pane === "customer" ? "customer-input" : "staff-input").placeholder =
      keyboard.input_field_placeholder;
  }
}

async function replyButton(pane, me, button) {
  const chat = pane === "customer" ? state.customer : state.group;
  if (!chat || !me) return;
  if (button.request_contact) {
    const phone = me.phone_number || (await askPhone());
    if (!phone) return;
    if (phone !== me.phone_number) {
      const updated = await api("PATCH", `/users/${me.id}`, { phone_number: phone });
      Object.assign(me, updated);
    }
    const contact = {
      phone_number: phone,
      first_name: me.first_name,
      last_name: me.last_name,
      user_id: me.id,
    };
    if (pane === "customer") await sendAsCustomer({ contact });
    else await sendAs(chat.id, me.id, { contact });
    return;
  }
  if (button.request_location || button.request_poll || button.request_users || button.request_chat) {
    toast("This keyboard button is not supported by the playground", true);
    return;
  }
  if (pane === "customer") await sendAsCustomer({ text: button.text });
  else await sendAs(chat.id, me.id, { text: button.text });
}

function askPhone() {
  const dialog = $("phone-dialog");
  const input = $("phone-input");
  input.value = $("customer-phone").value || DEFAULT_PHONE;
  dialog.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.hidden = true;
      $("phone-form").onsubmit = null;
      $("phone-cancel").onclick = null;
      resolve(value);
    };
    $("phone-form").onsubmit = (event) => {
      event.preventDefault();
      finish(input.value.trim() || null);
    };
    $("phone-cancel").onclick = () => finish(null);
  });
}

function renderCommands() {
  const container = $("customer-commands");
  container.replaceChildren();
  if (!state.customer) return;
  const language = (state.customer.language_code || "").toLowerCase();
  const privateScopes = ["default", "all_private_chats"];
  const candidates = state.commands.filter(
    (entry) =>
      privateScopes.includes(entry.scope.type) ||
      (entry.scope.type === "chat" && entry.scope.chat_id === state.customer.id),
  );
  const rank = (entry) => {
    const code = (entry.language_code || "").toLowerCase();
    const scope = entry.scope.type === "chat" ? 0 : entry.scope.type === "all_private_chats" ? 1 : 2;
    if (code && code === language) return scope;
    if (code && (language.startsWith(code + "-") || code.startsWith(language + "-")))
      return 3 + scope;
    if (!code) return 6 + scope;
    return 99;
  };
  const best = candidates.filter((entry) => rank(entry) < 99).sort((a, b) => rank(a) - rank(b))[0];
  if (!best) return;
  for (const command of best.commands) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.textContent = "/" + command.command;
    chip.title = command.description;
    chip.dataset.testid = "command";
    chip.addEventListener("click", () =>
      sendAsCustomer({ text: "/" + command.command }),
    );
    container.append(chip);
  }
}

// -- formatting (parse_mode is stored as sent; render a safe subset) ----------------------

const HTML_TAGS = {
  b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u", s: "s", strike: "s", del: "s",
  code: "code", pre: "pre", blockquote: "blockquote",
};

function renderFormatted(target, text, parseMode) {
  const mode = (parseMode || "").toLowerCase();
  if (mode === "html") {
    const parsed = new DOMParser().parseFromString(`<body>${text}</body>`, "text/html");
    appendSafe(target, parsed.body);
  } else if (mode === "markdownv2" || mode === "markdown") {
    const parsed = new DOMParser().parseFromString(
      `<body>${markdownToHtml(text, mode === "markdownv2")}</body>`,
      "text/html",
    );
    appendSafe(target, parsed.body);
  } else {
    target.textContent = text;
  }
}

function appendSafe(target, source) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.append(document.createTextNode(node.textContent));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.tagName.toLowerCase();
    let element = null;
    if (HTML_TAGS[tag]) {
      element = document.createElement(HTML_TAGS[tag]);
    } else if (tag === "a") {
      const href = node.getAttribute("href") || "";
      element = document.createElement("a");
      if (/^(https?:|tg:)/i.test(href)) {
        element.href = href;
        element.target = "_blank";
        element.rel = "noopener noreferrer";
      }
    } else if (tag === "tg-spoiler" || (tag === "span" && node.classList.contains("tg-spoiler"))) {
      element = document.createElement("span");
      element.className = "spoiler";
    }
    if (element) {
      appendSafe(element, node);
      target.append(element);
    } else {
      appendSafe(target, node);
    }
  }
}

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function markdownToHtml(text, v2) {
  const marks = v2
    ? [["```", "pre"], ["||", "tg-spoiler"], ["__", "u"], ["*", "b"], ["_", "i"], ["~", "s"], ["`", "code"]]
    : [["```", "pre"], ["*", "b"], ["_", "i"], ["`", "code"]];
  const out = [];
  const open = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === "\\" && v2 && index + 1 < text.length) {
      out.push(escapeHtml(text[index + 1]));
      index += 2;
      continue;
    }
    const inCode = open.length && ["pre", "code"].includes(open[open.length - 1]);
    const mark = marks.find(([token]) => text.startsWith(token, index));
    if (mark && (!inCode || open[open.length - 1] === mark[1])) {
      const [token, tag] = mark;
      if (open.length && open[open.length - 1] === tag) {
        open.pop();
        out.push(`</${tag}>`);
      } else {
        open.push(tag);
        out.push(`<${tag}>`);
      }
      index += token.length;
      continue;
    }
    if (!inCode && char === "[") {
      const close = text.indexOf("](", index);
      const end = close >= 0 ? text.indexOf(")", close) : -1;
      if (close > index && end > close) {
        const label = markdownToHtml(text.slice(index + 1, close), v2);
        const href = text.slice(close + 2, end).replace(/\\(.)/g, "$1").replace(/"/g, "%22");
        out.push(`<a href="${href}">${label}</a>`);
        index = end + 1;
        continue;
      }
    }
    out.push(escapeHtml(char));
    index += 1;
  }
  while (open.length) out.push(`</${open.pop()}>`);
  return out.join("");
}

// -- small helpers -------------------------------------------------------------------------

function summary(message) {
  if (message.text) return message.text;
  if (message.caption) return message.caption;
  for (const kind of ["photo", "document", "sticker", "voice", "contact"]) {
    if (message[kind]) return `[${kind}]`;
  }
  return "";
}

function showMessage(pane, messageId) {
  const container = $(pane === "customer" ? "customer-chat" : "staff-chat");
  const element = container.querySelector(`[data-message-id="${messageId}"]`);
  if (!element) return;
  element.scrollIntoView({ block: "center", behavior: "smooth" });
  element.classList.add("flash");
  setTimeout(() => element.classList.remove("flash"), 1200);
}

function clock(unix) {
  const date = new Date(unix * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function bytes(size) {
  if (!size && size !== 0) return "";
  return size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} KB`;
}

let toastTimer = null;
function toast(text, alert) {
  const element = $("toast");
  element.textContent = text;
  element.className = "toast" + (alert ? " alert" : "");
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (element.hidden = true), alert ? 5000 : 2500);
}

function samplePhoto() {
  const canvas = document.createElement("canvas");
  canvas.width = 160;
  canvas.height = 120;
  const context = canvas.getContext("2d");
  const gradient = context.createLinearGradient(0, 0, 160, 120);
  const hue = Math.floor(Math.random() * 360);
  gradient.addColorStop(0, `hsl(${hue}, 70%, 60%)`);
  gradient.addColorStop(1, `hsl(${(hue + 60) % 360}, 70%, 45%)`);
  context.fillStyle = gradient;
  context.fillRect(0, 0, 160, 120);
  context.fillStyle = "#fff";
  context.font = "bold 18px sans-serif";
  context.fillText("sample photo", 18, 66);
  return canvas.toDataURL("image/png").split(",")[1];
}

// -- wiring --------------------------------------------------------------------------------

function sendFromInput(pane) {
  const input = $(pane === "customer" ? "customer-input" : "staff-input");
  const chat = pane === "customer" ? state.customer : state.group;
  const me = pane === "customer" ? state.customer : state.staff;
  const text = input.value;
  if (!chat || !me || !text.trim()) return;
  input.value = "";
  const thread =
    pane === "staff" && isForum() && state.topic !== null ? { message_thread_id: state.topic } : {};
  if (pane === "customer") sendAsCustomer({ text, ...replyParameters(pane) });
  else sendAs(chat.id, me.id, { text, ...thread, ...replyParameters(pane) });
  clearReply(pane);
}

function wire() {
  $("customer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("customer-name").value.trim();
    if (!name) {
      toast("Give the customer a first name", true);
      return;
    }
    try {
      const user = await api("POST", "/users", {
        first_name: name,
        language_code: $("customer-language").value,
        phone_number: $("customer-phone").value.trim() || undefined,
      });
      state.users = [...state.users, user];
      $("customer-name").value = "";
      await setCustomer(user);
      $("customer-input").focus();
    } catch (error) {
      toast(`Could not create the customer: ${error.message}`, true);
    }
  });
  $("customer-select").addEventListener("change", async (event) => {
    const user = state.users.find((candidate) => String(candidate.id) === event.target.value);
    if (user) await setCustomer(user);
  });
  for (const pane of ["customer", "staff"]) {
    $(`${pane}-send`).addEventListener("click", () => sendFromInput(pane));
    $(`${pane}-input`).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendFromInput(pane);
      } else if (event.key === "Escape") {
        clearReply(pane);
      }
    });
    $(`${pane}-reply-cancel`).addEventListener("click", () => clearReply(pane));
  }
  $("customer-send-photo").addEventListener("click", () => {
    if (!state.customer) return;
    sendAsCustomer({
      photo: { file_name: "sample.png", data_b64: samplePhoto() },
      ...replyParameters("customer"),
    });
    clearReply("customer");
  });
  $("customer-send-sticker").addEventListener("click", () => {
    if (!state.customer) return;
    const emoji = STICKERS[Math.floor(Math.random() * STICKERS.length)];
    sendAsCustomer({ sticker: { emoji }, ...replyParameters("customer") });
    clearReply("customer");
  });
  $("toast").addEventListener("click", () => ($("toast").hidden = true));
  $("chat-tab-bot").addEventListener("click", () => setView("bot"));
  $("chat-tab-business").addEventListener("click", () => setView("business"));
  $("business-connect").addEventListener("click", () => connectBusiness());
  $("staff-forum").addEventListener("change", (event) => setForumMode(event.target.checked));
}

async function main() {
  wire();
  for (;;) {
    try {
      await bootstrap();
      setConnection(true);
      break;
    } catch (error) {
      setConnection(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  document.body.dataset.ready = "true";
  eventsLoop();
}

main();
