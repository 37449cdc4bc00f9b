/* A Web Worker for pages opened from disk (file://), where browsers refuse to start workers:
   the worker's script runs in a hidden same-origin iframe of the page instead. The site's search
   runs in a worker; mkdocs-material's offline plugin expects a polyfill of this kind (any
   polyfill named "iframe-worker") and would otherwise load one from the network, which this
   site must not do. Served over http the real Worker is used. The search worker needs only
   postMessage and "message" events (importScripts only for languages other than English). */
(function () {
  "use strict";
  if (location.protocol !== "file:") return;

  class IframeWorker extends EventTarget {
    constructor(url) {
      super();
      this.onmessage = null;
      this.pending = [];
      this.ready = false;
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      document.documentElement.appendChild(this.frame);
      const scope = this.frame.contentWindow;
      scope.postMessage = (data) => {
        const event = new MessageEvent("message", { data: structuredClone(data) });
        this.dispatchEvent(event);
        if (typeof this.onmessage === "function") this.onmessage(event);
      };
      scope.importScripts = () => {
        throw new Error("importScripts: not available in a page opened from disk");
      };
      const script = scope.document.createElement("script");
      script.src = new URL(url, location.href).href;
      script.onload = () => {
        this.ready = true;
        this.pending.splice(0).forEach((data) => this.deliver(data));
      };
      scope.document.head.appendChild(script);
    }

    postMessage(data) {
      if (this.ready) this.deliver(data);
      else this.pending.push(data);
    }

    deliver(data) {
      const scope = this.frame.contentWindow;
      scope.dispatchEvent(new scope.MessageEvent("message", { data: structuredClone(data) }));
    }

    terminate() {
      this.frame.remove();
    }
  }

  window.Worker = IframeWorker;
})();
