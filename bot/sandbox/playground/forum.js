// carebot playground: the staff group as a forum (Telegram's forum view): the topic list,
// the selected topic, service messages. Loaded before app.js, whose state and helpers
// (state, $, api, summary, setEnabled, renderChat, clearReply, toast, refresh) it uses.
"use strict";

const SERVICE_KINDS = [
  "forum_topic_created",
  "forum_topic_edited",
  "forum_topic_closed",
  "forum_topic_reopened",
];

async function refreshGroup() {
  const chats = await api("GET", "/chats");
  const group = chats.find((chat) => state.group && chat.id === state.group.id);
  if (!group) return;
  state.group = group;
  $("staff-forum").checked = Boolean(group.is_forum);
  $("staff-sub").textContent = `${group.is_forum ? "forum" : "group"} ${group.id} · you are ${
    state.staff ? state.staff.first_name : STAFF_NAME
  }`;
  state.topics = group.is_forum ? await api("GET", `/chats/${group.id}/topics`) : [];
  if (!state.topics.some((topic) => topic.message_thread_id === state.topic)) state.topic = null;
}

function isForum() {
  return Boolean(state.group && state.group.is_forum);
}

function threadOf(message) {
  return message.message_thread_id === undefined ? null : message.message_thread_id;
}

function selectedTopic() {
  return state.topics.find((topic) => topic.message_thread_id === state.topic) || null;
}

function selectTopic(threadId) {
  if (state.topic === threadId) return;
  state.topic = threadId;
  const target = state.replyTo.staff;
  if (target && threadOf(target.message) !== threadId) clearReply("staff");
  renderTopics();
  renderChat("staff");
}

function renderTopics() {
  const nav = $("staff-topics");
  const head = $("staff-topic-head");
  nav.hidden = !isForum();
  head.hidden = !isForum();
  nav.replaceChildren();
  if (!isForum()) {
    setEnabled("staff", Boolean(state.group));
    return;
  }
  const messages = state.transcripts.staff;
  for (const topic of state.topics) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = "topic" + (topic.message_thread_id === state.topic ? " selected" : "");
    if (topic.is_closed) item.classList.add("closed");
    item.dataset.testid = "topic";
    item.dataset.threadId = topic.is_general ? "general" : String(topic.message_thread_id);
    const icon = document.createElement("span");
    icon.className = "topic-icon" + (topic.is_general ? " general" : "");
    // The first character, not the first UTF-16 unit: "💬 Anna" starts with a surrogate
    // pair, and half of one is drawn as a box.
    const [first = "?"] = Array.from(topic.name.trim());
    icon.textContent = topic.is_general ? "#" : first.toUpperCase();
    if (!topic.is_general) icon.style.background = `#${topic.icon_color.toString(16).padStart(6, "0")}`;
    const text = document.createElement("span");
    text.className = "topic-text";
    const name = document.createElement("div");
    name.className = "topic-name";
    name.dataset.testid = "topic-name";
    name.textContent = topic.name;
    if (topic.is_closed) {
      const lock = document.createElement("span");
      lock.className = "lock";
      lock.dataset.testid = "topic-closed";
      lock.textContent = " 🔒";
      lock.title = "closed";
      name.append(lock);
    }
    const inTopic = messages.filter((m) => threadOf(m) === topic.message_thread_id && !isService(m));
    const last = document.createElement("div");
    last.className = "topic-last";
    const latest = inTopic[inTopic.length - 1];
    last.textContent = latest ? `${latest.from.first_name}: ${summary(latest)}` : "no messages yet";
    text.append(name, last);
    item.append(icon, text);
    item.addEventListener("click", () => selectTopic(topic.message_thread_id));
    nav.append(item);
  }
  const topic = selectedTopic();
  head.replaceChildren(topic ? topic.name : "General");
  if (topic && topic.is_closed) {
    const note = document.createElement("span");
    note.className = "closed-note";
    note.textContent = "🔒 closed: only admins can write";
    head.append(note);
  }
  const closed = Boolean(topic && topic.is_closed);
  setEnabled("staff", Boolean(state.group) && !closed);
  $("staff-input").placeholder = closed ? "The topic is closed" : `Message as ${STAFF_NAME}`;
}

async function setForumMode(enabled) {
  if (!state.group) return;
  try {
    await api("PATCH", `/chats/${state.group.id}`, { is_forum: enabled });
  } catch (error) {
    toast(`Could not switch the mode: ${error.message}`, true);
  }
  await refresh("staff");
}

function isService(message) {
  return SERVICE_KINDS.some((kind) => message[kind]);
}

function serviceText(message) {
  if (message.forum_topic_created) return `Topic “${message.forum_topic_created.name}” created`;
  if (message.forum_topic_edited) {
    const edited = message.forum_topic_edited;
    return edited.name ? `Topic renamed to “${edited.name}”` : "Topic icon changed";
  }
  if (message.forum_topic_closed) return `${message.from.first_name} closed the topic`;
  if (message.forum_topic_reopened) return `${message.from.first_name} reopened the topic`;
  return "";
}

function renderService(message) {
  const line = document.createElement("div");
  line.className = "service";
  line.dataset.testid = "service";
  line.dataset.messageId = String(message.message_id);
  line.textContent = serviceText(message);
  return line;
}

