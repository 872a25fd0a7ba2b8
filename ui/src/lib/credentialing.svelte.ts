import { Channel } from "@tauri-apps/api/core";
import {
  commands,
  type CommandError,
  type Dashboard,
  type DirectoryQuery,
  type ImportProgress,
  type ImportReport,
  type ProviderProfile_Serialize as ProviderProfile,
  type ProviderRow,
  type RegistryComparison,
  type RegistryQuery,
  type RegistryRecord,
  type VerificationResult,
} from "./bindings";
import { draftFromComparison, type WorkList } from "./credentialing";
import { toBase64 } from "./documents";
import { settle, type CommandResult } from "./errors";

/** Matches shown at once; the count says when there are more. */
export const PAGE = 200;

/** The verification being written for one credential. */
export interface VerifyForm {
  credentialId: string;
  source: string;
  result: VerificationResult;
  notes: string;
}

/**
 * The credentialing specialist's room: the directory searched as they
 * type, the provider open in the profile, the dashboard's work lists, the
 * NPI Registry comparison, the verification being recorded and LEIE imports.
 */
export class CredentialingDesk {
  query = $state<DirectoryQuery>({ text: "", network_status: null, state: null, city: "" });
  matches = $state<ProviderRow[]>([]);
  total = $state(0);
  more = $state(false);
  /** The search text is typed as an NPI that cannot be one. */
  npiProblem = $state<string | null>(null);
  dashboard = $state<Dashboard | null>(null);
  /** The work list open in place of the search results. */
  list = $state<WorkList | null>(null);
  profile = $state<ProviderProfile | null>(null);
  comparison = $state<RegistryComparison | null>(null);
  comparing = $state(false);
  /** The registry's answer to a search by this provider's name, and what was asked. */
  registryMatches = $state<{ asked: string; records: RegistryRecord[] } | null>(null);
  form = $state<VerifyForm | null>(null);
  saving = $state(false);
  error = $state<CommandError | null>(null);
  notice = $state<string | null>(null);
  importing = $state(false);
  progress = $state<ImportProgress | null>(null);
  report = $state<ImportReport | null>(null);
  #searchSeq = 0;

  #run<T>(call: Promise<CommandResult<T>>): Promise<T | null> {
    return settle(call, (error) => (this.error = error));
  }

  /** Searches the directory; a slower earlier answer never replaces a later one. */
  async search(): Promise<void> {
    const seq = ++this.#searchSeq;
    const q = this.query;
    const found = await this.#run(
      commands.searchProviders(
        {
          text: q.text?.trim() || null,
          network_status: q.network_status || null,
          state: q.state?.trim().toUpperCase() || null,
          city: q.city?.trim() || null,
        },
        PAGE,
      ),
    );
    if (!found || seq !== this.#searchSeq) return;
    this.matches = found.providers;
    this.total = found.total;
    this.more = found.more;
    this.npiProblem = found.npi_problem;
  }

  /** After a sync pass: the results, the counts and the open profile as the cache now has them. */
  async refresh(): Promise<void> {
    const open = this.profile?.provider.id;
    await Promise.all([this.search(), this.loadDashboard(), open ? this.open(open) : null]);
  }

  async loadDashboard(): Promise<void> {
    const dashboard = await this.#run(commands.credentialingDashboard());
    if (dashboard) this.dashboard = dashboard;
  }

  async open(id: string): Promise<void> {
    const profile = await this.#run(commands.providerProfile(id));
    if (!profile) return;
    if (this.profile?.provider.id !== id) {
      this.comparison = null;
      this.registryMatches = null;
      this.form = null;
    }
    this.profile = profile;
  }

  close(): void {
    this.profile = null;
    this.comparison = null;
    this.registryMatches = null;
    this.form = null;
  }

  async compare(): Promise<void> {
    if (!this.profile) return;
    this.comparing = true;
    this.error = null;
    try {
      const comparison = await this.#run(commands.compareWithRegistry(this.profile.provider.id));
      if (comparison) this.comparison = comparison;
    } finally {
      this.comparing = false;
    }
  }

  /** Searches the NPI Registry by the provider's name and state (when the NPI is not found there, say). */
  async searchRegistry(): Promise<void> {
    if (!this.profile) return;
    const p = this.profile.provider;
    const query: RegistryQuery =
      p.entity_type === "organization"
        ? { organization_name: p.organization_name ?? p.name, state: p.state, first_name: null, last_name: null,
            taxonomy_description: null, city: null, limit: 20 }
        : { first_name: p.first_name, last_name: p.last_name ?? p.name, state: p.state, organization_name: null,
            taxonomy_description: null, city: null, limit: 20 };
    const asked = [query.organization_name ?? [query.first_name, query.last_name].filter(Boolean).join(" "), query.state]
      .filter(Boolean)
      .join(", ");
    this.comparing = true;
    this.error = null;
    try {
      const records = await this.#run(commands.searchRegistry(query));
      if (records) this.registryMatches = { asked, records };
    } finally {
      this.comparing = false;
    }
  }

  /** Starts a verification of a credential, filled from the comparison when there is one. */
  startVerify(credentialId: string, fromRegistry = false): void {
    const draft = fromRegistry && this.comparison ? draftFromComparison(this.comparison) : null;
    this.form = {
      credentialId,
      source: draft?.source ?? "",
      result: draft?.result ?? "verified",
      notes: draft?.notes ?? "",
    };
  }

  async saveVerify(): Promise<boolean> {
    const form = this.form;
    if (!form || !this.profile) return false;
    this.saving = true;
    this.error = null;
    try {
      const recorded = await this.#run(
        commands.verifyCredential({
          credential_id: form.credentialId,
          source: form.source,
          result: form.result,
          notes: form.notes.trim() || null,
        }),
      );
      if (!recorded) return false;
      this.form = null;
      this.notice = `Verification recorded by ${recorded.verification.verified_by}.`;
      await Promise.all([this.open(this.profile.provider.id), this.loadDashboard()]);
      return true;
    } finally {
      this.saving = false;
    }
  }

  /** Imports an LEIE file chosen by the person, with the bar moving as central works. */
  async importLeie(file: File): Promise<void> {
    this.importing = true;
    this.error = null;
    this.report = null;
    this.progress = null;
    try {
      const channel = new Channel<ImportProgress>();
      channel.onmessage = (p) => (this.progress = p);
      const content = toBase64(new Uint8Array(await file.arrayBuffer()));
      const report = await this.#run(commands.importLeie(content, channel));
      if (report) {
        this.report = report;
        await Promise.all([this.loadDashboard(), this.search()]);
      }
    } finally {
      this.importing = false;
    }
  }
}
