// Renders the server's own OpenAPI document; "Try it out" calls the API as the signed-in user.
//
// Where the token comes from. The map keeps it in sessionStorage ("tessera.token"), which
// belongs to one tab: the map's "API" link opens this page in a new tab with rel=noopener,
// and such a tab starts with an empty sessionStorage (no copy, and a copy would outlive a
// sign-out on the map). localStorage would share it, but would also keep a bearer token on
// disk after the browser closes. So this page:
//   1. uses this tab's own sessionStorage when it has the token (docs opened in the map's tab);
//   2. otherwise asks the map over a BroadcastChannel, which reaches only pages of this same
//      origin that are open now: a signed-in map tab answers with its token, and announces
//      later sign-ins and sign-outs, so this page follows the map's session;
//   3. with no signed-in map open, says "sign in on the map first" and waits.
// The token is held in memory only, and every request Swagger UI makes (the OpenAPI
// document included) gets it through requestInterceptor at the time it is sent.
(function () {
  "use strict";
  const KEY = "tessera.token";
  const message = document.getElementById("docs-message");
  let token = sessionStorage.getItem(KEY);
  let rendered = false;

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function render() {
    if (rendered) return;
    rendered = true;
    window.SwaggerUIBundle({
      url: "/api/v1/openapi.json",
      dom_id: "#swagger-ui",
      // No calls to an outside validator: the page's CSP allows this origin only.
      validatorUrl: null,
      requestInterceptor(request) {
        if (token) request.headers.Authorization = `Bearer ${token}`;
        return request;
      },
    });
  }

  function update() {
    if (token) {
      say("");
      render();
    } else {
      say("Sign in on the map first: this page calls the API with the map's session.");
    }
  }

  if (!token && "BroadcastChannel" in window) {
    const channel = new BroadcastChannel("tessera.auth");
    channel.addEventListener("message", (event) => {
      const data = event.data ?? {};
      if (data.type === "token" && typeof data.token === "string") {
        token = data.token;
      } else if (data.type === "signed-out" && data.token === token) {
        token = null;
      } else {
        return;
      }
      update();
    });
    channel.postMessage({ type: "token?" });
  }
  update();
})();
