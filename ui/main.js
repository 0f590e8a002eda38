import { appInfo } from "./ipc.js";

const about = document.getElementById("about");
appInfo()
  .then((info) => {
    about.textContent = `${info.name} ${info.version} — ${info.tools} tools, requests tagged ${info.user_agent}`;
  })
  .catch((e) => {
    about.textContent = `Could not reach the app: ${e.message}`;
  });
