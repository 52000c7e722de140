// carebot playground: Telegram Business. The page can connect the bot to the company's
// Business account ("Tea Shop"); the customer pane then shows either of the customer's
// two chats, with the bot or with the account (the same chat id, two chats). Loaded
// before app.js, whose state and helpers (state, $, api, sendAs, setEnabled, renderChat,
// renderCustomerSelect, clearReply, toast, refresh) it uses.
"use strict";

// The company's Telegram Business account the page can connect the bot to, and the
// bot's rights there (it answers customers; Telegram Business settings in the app).
const BUSINESS_NAME = "Tea Shop";
const BUSINESS_RIGHTS = { can_reply: true, can_read_messages: true };

async function loadBusiness() {
  const connections = await api("GET", "/business/connections");
  state.ownerIds = new Set(connections.map((connection) => connection.user.id));
  const live = connections.filter(
    (connection) => connection.is_enabled && connection.user.first_name === BUSINESS_NAME,
  );
  state.business = live.length ? live[live.length - 1] : null;
  state.businessOwner = state.business ? state.business.user : null;
  if (!state.business) state.view = "bot";
  renderTabs();
}

async function connectBusiness() {
  try {
    let owner = state.users.find(
      (user) => user.first_name === BUSINESS_NAME && state.ownerIds.has(user.id),
    );
    if (!owner) {
      owner = await api("POST", "/users", { first_name: BUSINESS_NAME, language_code: "en" });
      state.users = [...state.users, owner];
    }
    state.ownerIds.add(owner.id);
    await api("POST", "/business/connections", { owner_id: owner.id, rights: BUSINESS_RIGHTS });
    await loadBusiness();
    renderCustomerSelect();
    toast(`${BUSINESS_NAME} connected the bot: customers who write to it are answered by the bot`);
    if (state.customer) await setView("business");
  } catch (error) {
    toast(`Could not connect the Business account: ${error.message}`, true);
  }
}

function inBusiness() {
  return state.view === "business" && state.business !== null;
}

function renderTabs() {
  const business = state.business;
  $("chat-tab-business").hidden = !business;
  $("chat-tab-business").textContent = business ? `💼 ${business.user.first_name}` : "💼 Business";
  $("business-connect").hidden = Boolean(business);
  $("chat-tab-bot").setAttribute("aria-selected", String(!inBusiness()));
  $("chat-tab-business").setAttribute("aria-selected", String(inBusiness()));
  const avatar = document.querySelector("#customer-pane .avatar");
  avatar.textContent = inBusiness() ? "💼" : "🤖";
  avatar.className = "avatar " + (inBusiness() ? "business" : "bot");
  renderCustomerSub();
}

function renderCustomerSub() {
  const user = state.customer;
  if (!user) {
    $("customer-sub").textContent = "private chat · create a customer to start";
    return;
  }
  const where = inBusiness()
    ? `chat with ${state.business.user.first_name} (Business account), answered by the bot`
    : "private chat with the bot";
  $("customer-sub").textContent = `${where} · ${user.language_code || "no language"} · ${
    user.phone_number || "no phone yet"
  }`;
}

async function setView(view) {
  if (view === "business" && !state.business) return;
  if (state.view === view) return;
  state.view = view;
  clearReply("customer");
  state.transcripts.customer = [];
  renderTabs();
  setEnabled("customer", Boolean(state.customer));
  renderChat("customer");
  await refresh("customer");
}

// The customer's chat the left pane shows, as a key for what was seen of it.
function customerChatKey(chatId) {
  return inBusiness() ? `${chatId}@${state.business.id}` : String(chatId);
}

function sendAsCustomer(content) {
  const user = state.customer;
  if (!user) return Promise.resolve();
  if (!inBusiness()) return sendAs(user.id, user.id, content);
  const path = `/business/connections/${encodeURIComponent(state.business.id)}/messages`;
  return api("POST", path, { from_id: user.id, ...content }).catch((error) =>
    toast(`Could not send: ${error.message}`, true),
  );
}
