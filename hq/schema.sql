-- The HQ-compatible service's tables in PostgreSQL (database commcarehq). Names and the columns the harness
-- looks at follow CommCare HQ's own models (form_processor_*, pillowtop_kafkacheckpoint, phone_synclogsql).
-- Idempotent: applied on every `capacity stack up`.

create table if not exists hq_domain (
  name text primary key,
  created_on timestamptz not null default now()
);

create table if not exists hq_mobile_worker (
  user_id text primary key,
  domain text not null references hq_domain(name),
  username text not null unique,          -- full form: <name>@<domain>.commcarehq.org
  password_salt text not null,
  password_hash text not null,             -- sha256(salt || password), hex
  device_id text,
  created_on timestamptz not null default now()
);
-- a web user with the login-as permission (restore ?as=): a load test's dedicated account, never a mobile worker
alter table hq_mobile_worker add column if not exists login_as boolean not null default false;

create table if not exists form_processor_xforminstancesql (
  form_id text primary key,
  domain text not null,
  app_id text,
  xmlns text not null,
  user_id text,
  received_on timestamptz not null,
  time_start timestamptz,
  time_end timestamptz,
  -- 1 normal, 2 error, 4 duplicate, 8 archived, 16 submission error, 32 deprecated (HQ's XFormInstance states)
  state integer not null default 1,
  orig_id text,                            -- for deprecated and duplicate forms: the instanceID they share
  deprecated_form_id text,                 -- on an edit: the id the previous version was moved to
  edited_on timestamptz,
  xml_md5 text not null,
  xml_size integer not null,
  blob_key text not null,
  attachment_count integer not null default 0,
  server_modified_on timestamptz not null default now()
);
create index if not exists xform_domain_received on form_processor_xforminstancesql (domain, received_on);
create index if not exists xform_user on form_processor_xforminstancesql (user_id);

create table if not exists form_processor_commcarecasesql (
  case_id text primary key,
  domain text not null,
  type text not null default '',
  name text,
  owner_id text not null default '',
  opened_on timestamptz,
  opened_by text,
  modified_on timestamptz not null,
  modified_by text,
  server_modified_on timestamptz not null default now(),
  closed boolean not null default false,
  closed_on timestamptz,
  closed_by text,
  deleted boolean not null default false,
  external_id text,
  case_json jsonb not null default '{}'::jsonb
);
create index if not exists case_owner_open on form_processor_commcarecasesql (domain, owner_id, closed);
create index if not exists case_server_modified on form_processor_commcarecasesql (owner_id, server_modified_on);

create table if not exists form_processor_casetransaction (
  id bigserial primary key,
  case_id text not null references form_processor_commcarecasesql(case_id),
  form_id text not null,
  server_date timestamptz not null,
  -- bit flags as HQ: 1 form, 2 rebuild, ... 256 case create, 512 case close, 1024 case index, 4096 ledger
  type integer not null,
  revoked boolean not null default false,
  details jsonb not null default '{}'::jsonb,
  unique (case_id, form_id)
);
create index if not exists casetx_form on form_processor_casetransaction (form_id);

create table if not exists form_processor_commcarecaseindexsql (
  id bigserial primary key,
  domain text not null,
  case_id text not null references form_processor_commcarecasesql(case_id),
  identifier text not null,
  referenced_id text not null,
  referenced_type text not null,
  relationship_id integer not null default 1, -- 1 child, 2 extension
  unique (case_id, identifier)
);
create index if not exists caseindex_referenced on form_processor_commcarecaseindexsql (referenced_id);

create table if not exists form_processor_ledgervalue (
  id bigserial primary key,
  domain text not null,
  case_id text not null,
  section_id text not null,
  entry_id text not null,
  balance numeric not null,
  last_modified timestamptz not null,
  last_modified_form_id text not null,
  unique (case_id, section_id, entry_id)
);

create table if not exists phone_synclogsql (
  synclog_id text primary key,
  domain text not null,
  user_id text not null,
  device_id text,
  date timestamptz not null,
  previous_synclog_id text,
  case_count integer not null,
  doc jsonb not null
);
create index if not exists synclog_user on phone_synclogsql (user_id, date);

-- Change records waiting to be published to Kafka. Written in the same transaction as the form, so a change
-- can never be lost when Kafka is down; drained (and deleted) once Kafka acknowledges them.
create table if not exists hq_change_outbox (
  id bigserial primary key,
  topic text not null,
  doc_id text not null,
  payload jsonb not null,
  created_on timestamptz not null default now()
);

-- Pillow checkpoints exactly as HQ keeps them (HQ's feed uses assign() and commits nothing to Kafka).
-- "offset" here is the next offset the pillow will read: offset lag = end offset - offset.
create table if not exists pillowtop_kafkacheckpoint (
  id bigserial primary key,
  checkpoint_id varchar(126) not null,
  topic varchar(126) not null,
  partition integer not null,
  "offset" bigint not null,
  doc_modification_time timestamptz,
  last_modified timestamptz not null default now(),
  unique (checkpoint_id, topic, partition)
);
create index if not exists kafkacheckpoint_id on pillowtop_kafkacheckpoint (checkpoint_id);

-- The UCR-like pillow's report table: one row per form, as a user-configurable data source would hold it.
create table if not exists ucr_form_submissions (
  doc_id text primary key,
  domain text not null,
  xmlns text not null,
  user_id text,
  received_on timestamptz not null,
  case_count integer not null,
  inserted_at timestamptz not null default now()
);

-- Changes a pillow could not write because the target rejected the document (HQ: pillow_retry).
create table if not exists hq_pillow_error (
  id bigserial primary key,
  pillow text not null,
  doc_id text not null,
  error text not null,
  created_on timestamptz not null default now()
);

-- Web users (HQ's WebUser: the people who use the site, run exports and call the API) and their API keys
-- (HQ's HQApiKey: a key belongs to one web user; `Authorization: ApiKey <username>:<key>`).
create table if not exists hq_web_user (
  username text primary key,               -- an email address, as HQ's
  domain text not null references hq_domain(name),
  password_salt text not null,
  password_hash text not null,             -- sha256(salt || password), hex
  created_on timestamptz not null default now()
);

create table if not exists hq_api_key (
  key text primary key,
  username text not null references hq_web_user(username) on delete cascade,
  name text not null default '',
  created_on timestamptz not null default now()
);
create index if not exists api_key_user on hq_api_key (username);
