// After the identity provider: lead on to the page the sign-in was for.
// (This page is same-site, so the next request carries the session's
// SameSite=Strict cookies; the link works without script too.)
const next = document.getElementById("continue");
if (next) window.location.replace(next.href);
