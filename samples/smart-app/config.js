// The app's registration at the authorization server (the embedded server registers "recovery-goals-app" by default).
window.SMART_APP_CONFIG = {
  clientId: "recovery-goals-app",
  defaultIss: "http://localhost:5000/fhir",
  // Read-only access to the patient's record; openid + fhirUser say who is signed in.
  standaloneScope: "openid fhirUser launch/patient patient/Patient.rs patient/Goal.rs",
  ehrScope: "openid fhirUser launch patient/Patient.rs patient/Goal.rs",
};
