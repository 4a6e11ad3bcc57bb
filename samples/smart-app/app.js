// Recovery goals: the signed-in person's goals grouped by recovery domain, with their progress.
//
// Goals follow the FhirRecovery IG (profiles/): Goal.category carries codes of the recovery framework
// (https://fhirrecovery.org/fhir/CodeSystem/recovery-framework: 4 domains, each with its themes), and the
// goal-attainment-level extension holds the goal attainment scaling (GAS) ratings, -2 .. +2.

const FRAMEWORK = "https://fhirrecovery.org/fhir/CodeSystem/recovery-framework";
const GAS_EXTENSION = "https://fhirrecovery.org/fhir/StructureDefinition/goal-attainment-level";

// The framework's domains and their themes (from CodeSystem-recovery-framework.json), so a goal coded with a theme
// only is still placed under its domain.
const DOMAINS = {
  "promoting-citizenship": { display: "Promoting citizenship",
    themes: ["seeing-beyond-service-user", "service-user-rights", "social-inclusion", "meaningful-occupation"] },
  "organisational-commitment": { display: "Organisational commitment",
    themes: ["recovery-vision", "workplace-support-structures", "quality-improvement", "care-pathway", "workforce-planning"] },
  "supporting-personally-defined-recovery": { display: "Supporting personally defined recovery",
    themes: ["individuality", "informed-choice", "peer-support", "strengths-focus", "holistic-approach"] },
  "working-relationship": { display: "Working relationship", themes: ["partnership", "inspiring-hope"] },
};
const OTHER = "other";

function domainOf(goal) {
  for (const category of goal.category || []) {
    for (const coding of category.coding || []) {
      if (coding.system !== FRAMEWORK) continue;
      if (DOMAINS[coding.code]) return coding.code;
      const owner = Object.keys(DOMAINS).find(d => DOMAINS[d].themes.includes(coding.code));
      if (owner) return owner;
    }
  }
  return OTHER;
}

/** The latest GAS rating (by date), or null. */
function latestRating(goal) {
  const ratings = (goal.extension || []).filter(e => e.url === GAS_EXTENSION).map(e => {
    const part = name => (e.extension || []).find(x => x.url === name) || {};
    return { level: part("level").valueInteger, date: part("date").valueDateTime || "" };
  }).filter(r => typeof r.level === "number");
  ratings.sort((a, b) => a.date.localeCompare(b.date));
  return ratings.length ? ratings[ratings.length - 1] : null;
}

function text(concept) {
  return concept ? (concept.text || (concept.coding || []).map(c => c.display || c.code).find(Boolean) || "") : "";
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function renderGoal(goal) {
  const rating = latestRating(goal);
  const achievement = text(goal.achievementStatus) || "no status yet";
  const meta = element("span", { class: "goal-meta" },
    element("span", { class: "lifecycle" }, goal.lifecycleStatus || ""),
    element("span", { class: "achievement" }, achievement));
  if (rating) {
    // GAS -2 .. +2 as 0 .. 4 on the bar; 0 (the expected level) is the middle.
    const bar = element("progress", { max: "4", value: String(rating.level + 2), "aria-label": "goal attainment" });
    meta.append(element("span", { class: "progress", "data-gas": String(rating.level) }, bar,
      element("span", { class: "gas" }, `GAS ${rating.level > 0 ? "+" : ""}${rating.level}`)));
  }
  return element("li", { class: "goal", "data-goal-id": goal.id, "data-lifecycle": goal.lifecycleStatus },
    element("span", { class: "goal-text" }, text(goal.description)), meta);
}

function render(goals) {
  const main = document.getElementById("goals");
  main.replaceChildren();
  const groups = new Map([...Object.keys(DOMAINS), OTHER].map(d => [d, []]));
  for (const goal of goals) groups.get(domainOf(goal)).push(goal);
  for (const [domain, members] of groups) {
    if (!members.length) continue;
    const title = domain === OTHER ? "Other goals" : DOMAINS[domain].display;
    main.append(element("section", { class: "domain", "data-domain": domain },
      element("h2", {}, title, " ", element("span", { class: "count" }, `(${members.length})`)),
      element("ul", { class: "goal-list" }, ...members.map(renderGoal))));
  }
  if (!goals.length) main.append(element("p", { class: "empty" }, "No recovery goals recorded yet."));
  main.dataset.state = "ready";
}

async function main() {
  const client = await FHIR.oauth2.ready();
  const patient = await client.patient.read();
  const name = (patient.name || [])[0] || {};
  document.getElementById("patient").textContent =
    `${[...(name.given || []), name.family].filter(Boolean).join(" ")} · Patient/${patient.id}`;
  // All pages; the server confines the search to the patient in context anyway.
  const goals = await client.request(`Goal?patient=${encodeURIComponent(patient.id)}&_count=100`, { pageLimit: 0, flat: true });
  render(goals.filter(g => g.lifecycleStatus !== "entered-in-error"));
}

main().catch(error => {
  const box = document.getElementById("error");
  box.hidden = false;
  box.textContent = "Could not load the goals: " + (error && error.message || error);
  document.getElementById("goals").dataset.state = "error";
});
