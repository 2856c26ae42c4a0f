/*
 * The qa-service chat widget: a <qa-chat> element with its own shadow DOM.
 *
 *   <script src="https://qa.intranet/widget.js" data-key="KEY" defer></script>
 *
 * adds a chat button to any page (the service's own page at / places <qa-chat mode="page">
 * instead). Attributes of the script tag: data-endpoint (the service; by default where this
 * script came from), data-key (sent as "Authorization: Bearer KEY"), data-title. A <qa-chat>
 * with the key-entry attribute (the service's page, when it has API keys) asks the person for
 * a key instead, and keeps it in sessionStorage: for this tab only, until it is closed.
 *
 * Everything the service or a document says is put on the page as text (textContent, text
 * nodes), never as HTML. No framework, no build step, nothing loaded from elsewhere.
 */
(() => {
  "use strict";

  const TAG = "qa-chat";
  const script = document.currentScript;
  const scriptUrl = script && script.src ? script.src : location.href;
  const DEFAULTS = {
    endpoint: (script && script.dataset.endpoint) || new URL(".", scriptUrl).href,
    key: (script && script.dataset.key) || "",
    title: (script && script.dataset.title) || "Ask the documents",
    styles: new URL("widget.css", scriptUrl).href,
  };
  // Turns sent back with a question: enough for a follow-up, well under the API's 50.
  const HISTORY_TURNS = 12;
  // Where a key entered on the page is kept: sessionStorage, for this tab only.
  const KEY_STORE = "qa-chat-key";
  const STAGES = {
    searching: "Searching the documents",
    writing: "Writing the answer",
    checking: "Checking each sentence against its source",
    translating: "Translating the answer",
  };
  const RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
  const LTR_CHAR = /[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF]/;
  const ICONS = {
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6A.5.5 0 0 1 5 19.2V16h.5A1.5 1.5 0 0 1 4 14.5z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    stop: "M7 7h10v10H7z",
    plus: "M12 5v14M5 12h14",
    copy: "M9 9h10v11H9zM5 15V4h10",
    info: "M12 8h.01M11 12h1v5h1M12 3a9 9 0 1 0 0 18a9 9 0 0 0 0-18z",
    alert: "M12 8v5M12 16.5h.01M10.3 3.9L2.6 17.5A2 2 0 0 0 4.3 20.5h15.4a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
    doc: "M7 3h7l5 5v13H7zM14 3v5h5",
    key: "M8.5 15.5a3.5 3.5 0 1 1 0-7a3.5 3.5 0 0 1 0 7zM12 12h9M18 12v3M15.5 12v2",
    up: "M7 11H4v9h3zM7 11l3.6-7.2A1.6 1.6 0 0 1 13.5 5L13 10h5.3a2 2 0 0 1 2 2.4l-1.3 6A2 2 0 0 1 17 20H7",
    down: "M7 13H4V4h3zM7 13l3.6 7.2a1.6 1.6 0 0 0 2.9-1.2L13 14h5.3a2 2 0 0 0 2-2.4l-1.3-6A2 2 0 0 0 17 4H7",
  };
  let instances = 0;
  let feedbacks = 0;

  /** An element with attributes and children; strings become text nodes, never markup. */
  function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) {
        element.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return element;
  }

  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", `icon icon-${name}`);
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  /** "rtl" when the first letter of ``text`` is of a right-to-left script (Arabic, Hebrew). */
  function direction(text) {
    for (const character of text) {
      if (RTL_CHAR.test(character)) return "rtl";
      if (LTR_CHAR.test(character)) return "ltr";
    }
    return "ltr";
  }

  function sameQuestion(a, b) {
    const tidy = (text) => text.toLowerCase().replace(/[\s?.!؟]+/g, " ").trim();
    return tidy(a) === tidy(b);
  }

  /** Server-Sent Events from a fetch body: {event, data} for each event. */
  async function* serverSentEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let name = "";
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer);
        // A lone "\r" at the end may be the first half of "\r\n".
        if (!end || (end[0] === "\r" && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === "") {
          if (data.length) yield { event: name || "message", data: data.join("\n") };
          name = "";
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") name = text;
          else if (field === "data") data.push(text);
        }
      }
    }
  }

  /** What went wrong with a request: {message} in plain words, and {requestId}, the id the
   * service logged it under, for the person to quote. */
  async function problem(response, chat) {
    let detail = "";
    let requestId = response.headers.get("X-Request-ID") || "";
    try {
      const body = await response.json();
      if (typeof body.detail === "string") detail = body.detail;
      else if (Array.isArray(body.detail) && body.detail.length) detail = body.detail[0].msg;
      if (typeof body.request_id === "string") requestId = body.request_id;
    } catch {
      // Not JSON: the status says enough.
    }
    return { message: explain(response, detail, chat), requestId };
  }

  function explain(response, detail, chat) {
    const seconds = Number(response.headers.get("Retry-After")) || 0;
    const wait = seconds ? ` Try again in ${seconds} second${seconds === 1 ? "" : "s"}.` : "";
    switch (response.status) {
      case 401:
        if (chat.keyEntry) {
          return chat.key
            ? "The service did not accept this key (401). Enter another one."
            : "The service asks for an API key (401). Enter one to ask questions.";
        }
        return chat.key
          ? "The service did not accept this page's key (401). Ask whoever runs the page to check it."
          : "The service asks for a key, which this page does not have (401).";
      case 403:
        return "This page's key may not ask questions here (403).";
      case 404:
        return "The service was not found at this address (404).";
      case 413:
        return "The question and the conversation before it are too long. Start a new conversation.";
      case 422:
        return `The question could not be asked: ${detail || "it is not valid"}.`;
      case 429:
        return `Too many questions in a short time.${wait || " Try again in a moment."}`;
      case 503:
        return detail.startsWith("the service is busy")
          ? `The service is busy answering others.${wait || " Try again in a moment."}`
          : `The service is unavailable: ${detail || "try again later"}.`;
      default:
        return `The service could not answer (${response.status}${detail ? `: ${detail}` : ""}).`;
    }
  }

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORE) || "";
    } catch {
      return ""; // storage refused (a sandboxed frame): the key lasts as long as the page
    }
  }

  function keepKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORE, key);
      else sessionStorage.removeItem(KEY_STORE);
    } catch {
      // As above: kept in the page only.
    }
  }

  /** "Request id: …", for the person to quote to whoever runs the service; nothing without one. */
  function requestLine(requestId) {
    return requestId ? h("p", { class: "request-id" }, "Request id: ", h("span", { class: "id" }, requestId)) : null;
  }

  class QaChat extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const settings = { ...DEFAULTS, ...(this.settings || {}) };
      for (const name of ["endpoint", "key", "title"]) {
        if (this.hasAttribute(name)) settings[name] = this.getAttribute(name);
      }
      this.endpoint = settings.endpoint.endsWith("/") ? settings.endpoint : `${settings.endpoint}/`;
      this.keyEntry = this.hasAttribute("key-entry");
      this.key = settings.key || (this.keyEntry ? storedKey() : "");
      this.afterKey = null;
      this.page = this.getAttribute("mode") === "page";
      this.uid = `qa${++instances}`;
      this.history = [];
      this.controller = null;
      this.build(settings);
    }

    disconnectedCallback() {
      if (this.controller) this.controller.abort();
    }

    url(path) {
      return new URL(path, this.endpoint).href;
    }

    request(path, options = {}) {
      const headers = { ...(options.headers || {}) };
      if (this.key) headers.Authorization = `Bearer ${this.key}`;
      return fetch(this.url(path), { ...options, headers, credentials: "omit" });
    }

    // --- building -------------------------------------------------------------------------

    build(settings) {
      const shadow = this.attachShadow({ mode: "open" });
      const styles = h("link", { rel: "stylesheet", href: settings.styles });
      this.root = h("div", { class: `root ${this.page ? "page" : "floating"}`, hidden: true });
      // Shown once styled: never a flash of bare buttons on the host page.
      const reveal = () => {
        this.root.hidden = false;
        // The page's first question is for a key, when it has none.
        if (this.page && this.keyForm && !this.keyForm.hidden) this.keyInput.focus();
      };
      styles.addEventListener("load", reveal);
      styles.addEventListener("error", reveal);
      shadow.append(styles, this.root);

      const titleId = `${this.uid}-title`;
      this.panel = h("section", {
        class: "panel",
        id: `${this.uid}-panel`,
        role: this.page ? null : "dialog",
        "aria-modal": this.page ? null : "false",
        "aria-labelledby": titleId,
      });
      this.newButton = h(
        "button",
        { type: "button", class: "icon-button", title: "New conversation" },
        icon("plus"),
        h("span", { class: "vh" }, "New conversation"),
      );
      this.newButton.addEventListener("click", () => this.clear());
      if (this.keyEntry) this.buildKeyForm();
      const head = h(
        "header",
        { class: "head" },
        h(
          "div",
          { class: "head-text" },
          h("h2", { id: titleId }, settings.title),
          h("p", { class: "sub" }, "Answers quote the organisation's documents."),
        ),
        this.keyButton || null,
        this.newButton,
      );
      if (!this.page) {
        const close = h(
          "button",
          { type: "button", class: "icon-button", title: "Close" },
          icon("close"),
          h("span", { class: "vh" }, "Close the chat"),
        );
        close.addEventListener("click", () => this.close());
        head.append(close);
      }

      this.log = h("div", { class: "log", role: "log", "aria-label": "Conversation", tabindex: "-1" });
      this.intro = h(
        "div",
        { class: "intro" },
        icon("doc"),
        h("p", { class: "intro-title" }, "Ask a question about the organisation's documents."),
        h("p", {}, "Each sentence of an answer carries the number of the passage it comes from. Answers say so plainly when the documents don't."),
      );
      this.log.append(this.intro);

      const inputId = `${this.uid}-input`;
      const hintId = `${this.uid}-hint`;
      this.input = h("textarea", {
        id: inputId,
        rows: "1",
        dir: "auto",
        maxlength: "2000",
        placeholder: "Ask a question…",
        "aria-describedby": hintId,
        enterkeyhint: "send",
      });
      this.sendButton = h("button", { type: "submit", class: "send" });
      this.form = h(
        "form",
        { class: "composer" },
        h("label", { for: inputId, class: "vh" }, "Your question"),
        this.input,
        this.sendButton,
      );
      this.setBusy(false);
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (this.controller) this.controller.abort();
        else this.submit();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          if (!this.controller) this.submit();
        }
      });
      this.input.addEventListener("input", () => this.fitInput());
      this.announcer = h("p", { class: "vh", role: "status" });

      this.panel.append(
        head,
        ...(this.keyForm ? [this.keyForm] : []),
        this.log,
        h("div", { class: "compose" }, this.form, h("p", { id: hintId, class: "hint" }, "Enter sends · Shift+Enter starts a new line")),
        this.announcer,
      );
      this.panel.addEventListener("keydown", (event) => this.onKey(event));

      if (this.page) {
        this.root.append(this.panel);
        return;
      }
      this.panel.hidden = true;
      this.launcher = h(
        "button",
        {
          type: "button",
          class: "launcher",
          "aria-expanded": "false",
          "aria-controls": this.panel.id,
          "aria-haspopup": "dialog",
        },
        icon("chat"),
        h("span", {}, settings.title),
      );
      this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
      this.root.append(this.panel, this.launcher);
    }

    /** The form a person enters an API key in, and the header's button that opens it. */
    buildKeyForm() {
      const formId = `${this.uid}-keys`;
      const inputId = `${this.uid}-key`;
      const titleId = `${this.uid}-key-title`;
      const helpId = `${this.uid}-key-help`;
      this.keyMessage = h("p", { class: "key-title", id: titleId }, "This service asks for an API key.");
      this.keyInput = h("input", {
        id: inputId,
        type: "password",
        autocomplete: "off",
        autocapitalize: "off",
        spellcheck: "false",
        "aria-describedby": helpId,
      });
      this.forgetButton = h("button", { type: "button", class: "action key-forget" }, "Forget the key");
      this.forgetButton.addEventListener("click", () => this.forgetKey());
      this.keyForm = h(
        "form",
        { class: "key-form", id: formId, "aria-labelledby": titleId },
        this.keyMessage,
        h(
          "div",
          { class: "key-row" },
          h("label", { for: inputId }, "API key"),
          this.keyInput,
          h("button", { type: "submit", class: "key-use" }, "Use this key"),
        ),
        h("p", { class: "key-help", id: helpId }, "Kept in this browser tab only, until it is closed. Whoever runs the service gives out the keys."),
        this.forgetButton,
      );
      this.keyForm.addEventListener("submit", (event) => {
        event.preventDefault();
        this.useKey(this.keyInput.value.trim());
      });
      this.keyForm.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && this.key) {
          event.stopPropagation();
          this.hideKeyForm();
          this.keyButton.focus();
        }
      });
      this.keyButton = h(
        "button",
        { type: "button", class: "icon-button", title: "API key", "aria-controls": formId, "aria-expanded": "false" },
        icon("key"),
        h("span", { class: "vh" }, "API key"),
      );
      this.keyButton.addEventListener("click", () => (this.keyForm.hidden ? this.showKeyForm() : this.hideKeyForm()));
      this.keyForm.hidden = true;
      if (!this.key) this.showKeyForm(undefined, false);
    }

    showKeyForm(message = "This service asks for an API key.", focus = true) {
      this.keyMessage.textContent = message;
      this.forgetButton.hidden = !this.key;
      this.keyForm.hidden = false;
      this.keyButton.setAttribute("aria-expanded", "true");
      if (focus) this.keyInput.focus();
    }

    hideKeyForm() {
      this.keyForm.hidden = true;
      this.keyButton.setAttribute("aria-expanded", "false");
    }

    useKey(key) {
      if (!key) {
        this.keyMessage.textContent = "Enter a key first: the service asks for one.";
        this.keyInput.focus();
        return;
      }
      this.key = key;
      keepKey(key);
      this.keyInput.value = "";
      this.hideKeyForm();
      this.say("The key is kept until this tab is closed.");
      const retry = this.afterKey;
      this.afterKey = null;
      if (retry) retry();
      else this.input.focus();
    }

    forgetKey() {
      this.key = "";
      keepKey("");
      this.showKeyForm("The key is forgotten. Enter a key to ask questions.");
    }

    /** A request refused with 401: the key (if any) is dropped, and the form asks for one;
     * ``retry`` runs once a key is entered. */
    askForKey(message, retry) {
      this.key = "";
      keepKey("");
      this.afterKey = retry;
      this.showKeyForm(message);
    }

    open() {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.root.classList.add("open");
      this.input.focus();
    }

    close() {
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.root.classList.remove("open");
      this.launcher.focus();
    }

    onKey(event) {
      if (event.key !== "Escape") return;
      const card = event.composedPath().find((node) => node.classList && node.classList.contains("card"));
      if (card) {
        event.stopPropagation();
        card.closeCard(true);
      } else if (!this.page) {
        event.stopPropagation();
        this.close();
      }
    }

    fitInput() {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 160)}px`;
    }

    setBusy(busy) {
      this.sendButton.replaceChildren(
        icon(busy ? "stop" : "send"),
        h("span", { class: "vh" }, busy ? "Stop the answer" : "Send"),
      );
      this.sendButton.classList.toggle("stop", busy);
      this.sendButton.title = busy ? "Stop" : "Send";
    }

    say(text) {
      // Cleared first, so the same words said twice are announced twice.
      this.announcer.textContent = "";
      setTimeout(() => { this.announcer.textContent = text; }, 50);
    }

    clear() {
      if (this.controller) this.controller.abort();
      this.history = [];
      this.log.replaceChildren(this.intro);
      this.input.value = "";
      this.fitInput();
      this.input.focus();
      this.say("New conversation.");
    }

    scrollDown() {
      this.log.scrollTop = this.log.scrollHeight;
    }

    // --- asking ---------------------------------------------------------------------------

    submit() {
      const question = this.input.value.trim();
      if (!question) {
        this.input.focus();
        return;
      }
      this.input.value = "";
      this.fitInput();
      this.ask(question, this.history.slice(-HISTORY_TURNS));
    }

    async ask(question, history) {
      this.intro.remove();
      const asked = h("div", { class: "msg user", dir: direction(question) }, question);
      const answer = new AnswerView(this, question);
      this.log.append(asked, answer.element);
      this.scrollDown();

      const controller = new AbortController();
      this.controller = controller;
      this.setBusy(true);
      let outcome = { kind: "lost" };
      try {
        const response = await this.request("v1/ask/stream", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify({ question, history }),
          signal: controller.signal,
        });
        if (!response.ok) {
          outcome = { kind: "error", ...(await problem(response, this)), status: response.status };
        } else {
          const requestId = response.headers.get("X-Request-ID") || "";
          outcome.requestId = requestId;
          for await (const { event, data } of serverSentEvents(response.body)) {
            const value = JSON.parse(data);
            if (event === "status") answer.status(value.stage);
            else if (event === "token") answer.add(value.text, value.citations);
            else if (event === "done") outcome = { kind: "done", body: value };
            else if (event === "error") {
              outcome = {
                kind: "error",
                message: `The answer could not be finished: ${value.detail}.`,
                requestId: value.request_id || requestId,
              };
            }
          }
          if (outcome.kind === "lost") {
            outcome.message = "The connection was lost before the answer was complete.";
          }
        }
      } catch (error) {
        outcome = controller.signal.aborted
          ? { kind: "stopped" }
          : { kind: "error", message: "The service could not be reached. Check the connection and try again." };
      } finally {
        if (this.controller === controller) {
          this.controller = null;
          this.setBusy(false);
        }
      }

      if (outcome.kind === "done") {
        answer.finish(outcome.body);
        this.history.push(
          { role: "user", content: question },
          { role: "assistant", content: outcome.body.answer },
        );
      } else if (outcome.kind === "stopped") {
        answer.stopped();
      } else {
        const retry = () => {
          asked.remove();
          answer.element.remove();
          this.ask(question, history);
        };
        const message = outcome.message || "The connection was lost.";
        const needsKey = outcome.status === 401 && this.keyEntry;
        answer.fail(message, outcome.requestId, needsKey ? () => this.askForKey(message, retry) : retry, needsKey);
        if (needsKey) this.askForKey(message, retry);
      }
      this.scrollDown();
    }
  }

  /** One answer in the conversation: its status while it comes, its checked text with a chip
   * for each citation, its sources, and the source card a chip opens. */
  class AnswerView {
    constructor(chat, question) {
      this.chat = chat;
      this.question = question;
      this.citations = new Map();
      this.chips = [];
      this.textLength = 0;
      this.element = h("article", { class: "msg bot", "aria-label": "Answer" });
      this.statusLine = h("p", { class: "status" }, h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), h("span", {}, `${STAGES.searching}…`));
      this.text = h("p", { class: "text" });
      this.element.append(this.statusLine, this.text);
    }

    status(stage) {
      this.statusLine.lastChild.textContent = `${STAGES[stage] || "Working"}…`;
    }

    add(text, citations) {
      for (const citation of citations || []) this.citations.set(citation.n, citation);
      if (!this.textLength) this.text.dir = direction(text);
      this.textLength += text.length;
      this.renderText(text);
      this.chat.scrollDown();
    }

    /** ``text`` with each "[n]" of a known citation made a chip; the rest as it is. */
    renderText(text) {
      let last = 0;
      for (const marker of text.matchAll(/\[(\d+)\]/g)) {
        const citation = this.citations.get(Number(marker[1]));
        if (!citation) continue;
        this.text.append(document.createTextNode(text.slice(last, marker.index)));
        this.text.append(this.chip(citation, String(citation.n), "chip"));
        last = marker.index + marker[0].length;
      }
      this.text.append(document.createTextNode(text.slice(last)));
    }

    chip(citation, label, kind) {
      const name = citation.title || citation.doc_id;
      const button = h("button", { type: "button", class: kind, "aria-expanded": "false", "aria-label": `Source ${citation.n}: ${name}` });
      if (kind === "chip") button.append(label);
      else {
        const about = h("span", { class: "source-text" }, h("span", { class: "source-title", dir: direction(name) }, name));
        if (citation.title) about.append(h("span", { class: "source-id" }, citation.doc_id));
        button.append(h("span", { class: "n" }, String(citation.n)), about);
      }
      button.dataset.n = String(citation.n);
      button.addEventListener("click", () => this.toggleSource(citation, button));
      this.chips.push(button);
      return button;
    }

    finish(body) {
      this.statusLine.remove();
      this.element.lang = body.language || "";
      this.element.dir = direction(body.answer);
      if (!sameQuestion(body.standalone_question || this.question, this.question)) {
        const understood = h("p", { class: "understood", dir: direction(body.standalone_question) }, "Understood as: ", h("q", {}, body.standalone_question));
        this.element.prepend(understood);
      }
      if (body.refused) {
        this.text.remove();
        const hint = body.language === "en" ? h("p", { class: "hint-text" }, "Try other words, or ask about something the documents cover.") : null;
        this.element.classList.add("refused");
        this.element.append(h("div", { class: "refusal" }, icon("info"), h("div", {}, h("p", { dir: direction(body.answer) }, body.answer), hint)));
        const feedback = new FeedbackView(this.chat, this.question, body);
        this.element.append(h("div", { class: "actions" }, feedback.buttons), feedback.form);
        return;
      }
      for (const citation of body.citations) this.citations.set(citation.n, citation);
      let shown = "";
      for (const node of this.text.childNodes) shown += node.nodeType === Node.TEXT_NODE ? node.textContent : `[${node.dataset.n}]`;
      if (shown !== body.answer) {
        // Only if tokens were missed: the tokens, joined, are the answer.
        this.text.replaceChildren();
        this.chips = [];
        this.text.dir = direction(body.answer);
        this.renderText(body.answer);
      }
      if (body.quoted) {
        this.element.append(h("p", { class: "note" }, "Quoted from the documents: the closest passages, word for word."));
      }
      if (body.citations.length) {
        const list = h("ol", { class: "sources", "aria-label": "Sources" });
        for (const citation of body.citations) list.append(h("li", {}, this.chip(citation, "", "source")));
        this.element.append(h("p", { class: "sources-label", "aria-hidden": "true" }, "Sources"), list);
      }
      const copy = h("button", { type: "button", class: "action" }, icon("copy"), "Copy answer and sources");
      copy.addEventListener("click", () => this.copy(body));
      const feedback = new FeedbackView(this.chat, this.question, body);
      this.element.append(h("div", { class: "actions" }, copy, feedback.buttons), feedback.form);
    }

    stopped() {
      this.statusLine.remove();
      if (!this.textLength) this.text.remove();
      this.element.append(h("p", { class: "note" }, "Stopped."));
    }

    /** The answer failed: why, the request's id to quote, and a button that tries again (or,
     * for a key refused, asks for another). */
    fail(message, requestId, retry, needsKey) {
      this.statusLine.remove();
      if (!this.textLength) this.text.remove();
      const again = h("button", { type: "button", class: "action retry" }, needsKey ? "Enter a key" : "Try again");
      again.addEventListener("click", retry);
      this.element.classList.add("failed");
      this.element.append(h("div", { class: "error", role: "alert" }, icon("alert"), h("div", {}, h("p", {}, message), requestLine(requestId), again)));
    }

    async copy(body) {
      const sources = body.citations.map((c) => `[${c.n}] ${c.title || c.doc_id} (${c.doc_id}): "${c.quote}"`);
      const text = sources.length ? `${body.answer}\n\nSources:\n${sources.join("\n")}` : body.answer;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // Pages served over plain http have no clipboard API: the old way.
        const area = h("textarea", { class: "vh", "aria-hidden": "true" });
        area.value = text;
        this.element.append(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      this.chat.say("Copied the answer and its sources.");
    }

    // --- a source, opened in context -------------------------------------------------------

    toggleSource(citation, button) {
      const open = this.card && this.card.citation === citation;
      if (this.card) this.card.closeCard(false);
      if (!open) this.openSource(citation, button);
    }

    openSource(citation, button) {
      const id = `${this.chat.uid}-card-${Math.random().toString(36).slice(2, 8)}`;
      const name = citation.title || citation.doc_id;
      const headingId = `${id}-h`;
      const heading = h("h3", { id: headingId, tabindex: "-1", dir: direction(name) }, name);
      const meta = h("p", { class: "meta" }, citation.title ? citation.doc_id : "");
      const body = h("div", { class: "context", tabindex: "0", role: "region", "aria-label": `Source ${citation.n} in its document` }, h("p", { class: "loading" }, "Opening the document…"));
      const close = h("button", { type: "button", class: "icon-button small", title: "Close the source" }, icon("close"), h("span", { class: "vh" }, "Close the source"));
      const card = h("section", { class: "card", id, "aria-labelledby": headingId }, h("header", { class: "card-head" }, h("span", { class: "n" }, String(citation.n)), h("div", { class: "card-title" }, heading, meta), close), body);
      card.citation = citation;
      card.closeCard = (refocus) => {
        card.remove();
        for (const chip of this.chips) chip.setAttribute("aria-expanded", "false");
        if (this.card === card) this.card = null;
        if (refocus) button.focus();
      };
      close.addEventListener("click", () => card.closeCard(true));
      for (const chip of this.chips) {
        const mine = chip.dataset.n === String(citation.n);
        chip.setAttribute("aria-expanded", String(mine));
        if (mine) chip.setAttribute("aria-controls", id);
      }
      // Under the answer's text, before its list of sources.
      this.text.after(card);
      this.card = card;
      heading.focus();
      this.load(citation, body, meta);
    }

    async load(citation, body, meta) {
      const path = citation.doc_id.split("/").map(encodeURIComponent).join("/");
      const query = new URLSearchParams({ start: String(citation.start), end: String(citation.end) });
      let message = "";
      let requestId = "";
      try {
        const response = await this.chat.request(`v1/documents/${path}/text?${query}`);
        if (response.ok) {
          this.showContext(await response.json(), citation, body, meta);
          return;
        }
        const trouble = await problem(response, this.chat);
        message = response.status === 404 ? "This document is no longer in the service." : trouble.message;
        requestId = trouble.requestId;
      } catch {
        message = "The document could not be fetched. Check the connection.";
      }
      body.replaceChildren(h("p", { class: "loading" }, message), requestLine(requestId), h("blockquote", { dir: direction(citation.quote) }, citation.quote));
    }

    showContext(found, citation, body, meta) {
      const quoteAt = found.start - found.offset;
      const quoteEnd = found.end - found.offset;
      const mark = h("mark", {}, found.text.slice(quoteAt, quoteEnd));
      const passage = h(
        "p",
        { class: "passage", dir: direction(found.text) },
        found.offset > 0 ? "… " : "",
        found.text.slice(0, quoteAt),
        mark,
        found.text.slice(quoteEnd),
        found.offset + found.text.length < found.chars ? " …" : "",
      );
      const page = found.page ? `page ${found.page}` : "";
      meta.textContent = [citation.title ? found.doc_id : "", page].filter(Boolean).join(" · ");
      body.replaceChildren(passage);
      if (found.quote !== citation.quote) {
        body.prepend(h("p", { class: "loading" }, "The document has changed since this answer: the highlighted text may not be the quote."));
      }
      // Two lines before the quote in sight, the first of them whole.
      const line = parseFloat(getComputedStyle(passage).lineHeight) || 23;
      body.scrollTop = Math.max(0, mark.offsetTop - 2 * line - 4);
      body.closest(".card").scrollIntoView({ block: "nearest" });
    }
  }

  /** Thumbs up or down on one answer, sent at once (POST /v1/feedback with the answer's id),
   * then a comment if the person wants to add one, sent with the same rating: the service
   * keeps one rating per answer, the last. */
  class FeedbackView {
    constructor(chat, question, body) {
      this.chat = chat;
      this.sent = { question, answer: body.answer };
      if (body.id) this.sent.answer_id = body.id;
      this.rating = null;
      // Sent one after another, in order: a comment typed fast must not be overtaken by the
      // rating sent before it (the service keeps the last).
      this.sending = Promise.resolve();
      this.thumbs = {
        up: this.thumb("up", "Helpful"),
        down: this.thumb("down", "Not helpful"),
      };
      this.buttons = h("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" }, this.thumbs.up, this.thumbs.down);
      const inputId = `${chat.uid}-comment-${++feedbacks}`;
      this.label = h("label", { for: inputId }, "Comment (optional)");
      this.comment = h("textarea", { id: inputId, rows: "2", maxlength: "2000", dir: "auto" });
      this.note = h("div", { class: "feedback-note" });
      this.form = h(
        "form",
        { class: "comment", hidden: true },
        this.label,
        this.comment,
        h("button", { type: "submit", class: "action send-comment" }, "Send comment"),
      );
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.send(this.comment.value.trim());
      });
      this.comment.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.send(this.comment.value.trim());
        }
      });
      this.form.prepend(this.note);
    }

    thumb(rating, label) {
      const button = h("button", { type: "button", class: `thumb thumb-${rating}`, title: label, "aria-pressed": "false" }, icon(rating), h("span", { class: "vh" }, label));
      button.addEventListener("click", () => this.rate(rating));
      return button;
    }

    rate(rating) {
      this.rating = rating;
      for (const [name, button] of Object.entries(this.thumbs)) button.setAttribute("aria-pressed", String(name === rating));
      this.label.textContent = rating === "down" ? "What was wrong with it? (optional)" : "Anything to add? (optional)";
      this.form.hidden = false;
      this.comment.focus();
      this.send("");
    }

    send(comment) {
      const body = { ...this.sent, rating: this.rating };
      if (comment) body.comment = comment;
      this.sending = this.sending.then(() => this.post(body, comment));
    }

    async post(body, comment) {
      this.note.replaceChildren(comment ? "Sending your comment…" : "Sending…");
      let failure = null;
      try {
        const response = await this.chat.request("v1/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        if (!response.ok) failure = await problem(response, this.chat);
      } catch {
        failure = { message: "The service could not be reached. Check the connection and try again.", requestId: "" };
      }
      this.note.classList.toggle("failed", Boolean(failure));
      if (failure) {
        this.note.replaceChildren(`The feedback could not be sent: ${failure.message}`, requestLine(failure.requestId) || "");
        this.chat.say("The feedback could not be sent.");
        return;
      }
      const thanks = comment ? "Thank you: your comment was sent." : "Thank you: your rating was sent.";
      this.note.replaceChildren(thanks);
      this.chat.say(thanks);
      if (comment) {
        this.comment.value = "";
        this.thumbs[this.rating].focus();
      }
    }
  }

  if (!customElements.get(TAG)) customElements.define(TAG, QaChat);

  function mount() {
    // A page that places its own <qa-chat> (the service's page at /) gets no button besides.
    if (document.querySelector(TAG)) return;
    const chat = document.createElement(TAG);
    chat.settings = DEFAULTS;
    document.body.append(chat);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
