#!/usr/bin/env bash
# Deploys E11 Jobs into your Google Cloud project with gcloud (and the repository's pinned firebase-tools
# for the Firestore rules and indexes). Every step is safe to run again: resources are created only when
# missing, `deploy` verbs update in place, and IAM bindings are added, never replaced.
#
#   deploy/deploy.sh --project my-proj --region europe-west1 \
#     --image europe-docker.pkg.dev/my-proj/e11/sum-sales:1 [--database e11-jobs] [--dry-run]
#
# With --dry-run it prints every command that changes something, one per line, shell-quoted, and runs
# nothing (gcloud is not needed). See docs/production.md for the roles each service account gets and why.
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly STAGING_DIR=deploy/.build
# Never stop to ask: a deploy script must not hang on a prompt.
export CLOUDSDK_CORE_DISABLE_PROMPTS=1

PROJECT=''
REGION=''
IMAGE=''
TOPIC='e11-job-completed'
PREFIX='e11_'
FIRESTORE_LOCATION='nam5'
# E11's own database: every Firestore role is granted on it alone (an IAM condition), never project-wide.
# Firestore database ids have at least 4 characters, hence not 'e11'.
DATABASE='e11-jobs'
TASK_TIMEOUT='10m'
PIPELINES_MODULE=''
JOB_NAMES=()
DRY_RUN=false

usage() {
  cat <<'EOF'
Usage: deploy/deploy.sh --project P --region R --image IMAGE [options]

  --project P              Google Cloud project id (required)
  --region R               region of the Cloud Run jobs, functions and scheduler (required), e.g. europe-west1
  --image IMAGE            the job image, built from examples/Dockerfile or your own (required)
  --job NAME               an @JobName served by the image; repeat for several (default: sum_sales).
                           Each becomes the Cloud Run job NAME with '_' -> '-' (sum_sales -> sum-sales)
  --topic T                Pub/Sub topic of JobCompletedEvents (default: e11-job-completed)
  --prefix P               Firestore collection prefix (default: e11_)
  --database D             E11's own Firestore database, created if missing (default: e11-jobs). Every
                           account's Firestore role is bound to this database only
  --firestore-location L   location of that database, and of the Firestore trigger (default: nam5)
  --task-timeout D         Cloud Run task timeout, covering every in-task attempt (default: 10m)
  --pipelines-module FILE  your built pipelines module (a .js file exporting definePipeline() results):
                           staged with the functions, which start each next stage from it
  --dry-run                print the commands, run nothing
  -h, --help               this help
EOF
}

die() {
  printf 'deploy.sh: %s\n' "$*" >&2
  exit 2
}

say() { printf '==> %s\n' "$*" >&2; }

# One argument, quoted for a POSIX shell only when it needs it.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

render() {
  local line='' arg
  for arg in "$@"; do line+="${line:+ }$(quote "$arg")"; done
  printf '%s\n' "$line"
}

# Runs a command that changes something; with --dry-run only prints it.
run() {
  if [[ $DRY_RUN == true ]]; then
    render "$@"
  else
    printf '+ %s\n' "$(render "$@")" >&2
    "$@"
  fi
}

# True when a read-only probe succeeds. With --dry-run nothing exists, so every create is printed.
exists() {
  [[ $DRY_RUN == true ]] && return 1
  "$@" >/dev/null 2>&1
}

parse_args() {
  while (($# > 0)); do
    local flag=$1 value=''
    if [[ $flag == --*=* ]]; then
      value=${flag#*=}
      flag=${flag%%=*}
    elif [[ $flag != --dry-run && $flag != -h && $flag != --help ]]; then
      (($# >= 2)) || die "$flag needs a value (see --help)."
      value=$2
      shift
    fi
    case $flag in
      --project) PROJECT=$value ;;
      --region) REGION=$value ;;
      --image) IMAGE=$value ;;
      --job) JOB_NAMES+=("$value") ;;
      --topic) TOPIC=$value ;;
      --prefix) PREFIX=$value ;;
      --firestore-location) FIRESTORE_LOCATION=$value ;;
      --database) DATABASE=$value ;;
      --task-timeout) TASK_TIMEOUT=$value ;;
      --pipelines-module) PIPELINES_MODULE=$value ;;
      --dry-run) DRY_RUN=true ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option '$flag' (see --help)." ;;
    esac
    shift
  done
  ((${#JOB_NAMES[@]} > 0)) || JOB_NAMES=(sum_sales)
}

validate_args() {
  [[ -n $PROJECT ]] || die '--project is required: your Google Cloud project id, e.g. --project my-proj.'
  [[ -n $REGION ]] || die '--region is required, e.g. --region europe-west1.'
  [[ -n $IMAGE ]] || die '--image is required: the job image, e.g. --image europe-docker.pkg.dev/my-proj/e11/sum-sales:1.'
  [[ $PROJECT =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] ||
    die "--project '$PROJECT' is not a project id (6-30 lower-case letters, digits and '-', starting with a letter)."
  [[ $REGION =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "--region '$REGION' is not a Google Cloud region such as europe-west1."
  [[ $IMAGE =~ ^[^[:space:]]+$ ]] || die "--image '$IMAGE' must not contain spaces."
  [[ $TOPIC =~ ^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$ && $TOPIC != goog* ]] ||
    die "--topic '$TOPIC' is not a Pub/Sub topic id (3-255 characters, starting with a letter, not with 'goog')."
  # The SDK's own rule for collection prefixes (packages/sdk/src/model/collections.ts).
  [[ $PREFIX =~ ^[A-Za-z0-9_-]{0,40}$ ]] || die "--prefix '$PREFIX' must be up to 40 letters, digits, '_' or '-'."
  [[ -z $PIPELINES_MODULE || -f $PIPELINES_MODULE ]] ||
    die "--pipelines-module '$PIPELINES_MODULE' is not a file: give your built pipelines module (.js)."
  [[ $FIRESTORE_LOCATION =~ ^[a-z0-9-]+$ ]] ||
    die "--firestore-location '$FIRESTORE_LOCATION' is not a Firestore location such as nam5, eur3 or europe-west1."
  # Firestore's rule for database ids: 4-63 lower-case letters, digits and '-', starting with a letter and
  # not ending with '-'. '(default)' is refused: IAM would then scope E11's roles to the app's own database.
  [[ $DATABASE =~ ^[a-z][a-z0-9-]{2,61}[a-z0-9]$ ]] ||
    die "--database '$DATABASE' is not a Firestore database id (4-63 lower-case letters, digits or '-', starting with a letter)."
  [[ $TASK_TIMEOUT =~ ^[0-9]+[smhd]?$ ]] || die "--task-timeout '$TASK_TIMEOUT' must be a duration such as 600s or 10m."
  local name
  for name in "${JOB_NAMES[@]}"; do
    # The SDK's job-name rule and its default mapping to a Cloud Run job id (packages/sdk/src/validate/job-name.ts).
    [[ $name =~ ^[A-Za-z][A-Za-z0-9_-]{0,62}$ && $(job_id "$name") =~ ^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$ ]] ||
      die "--job '$name' is not a job name that maps to a Cloud Run job id (letters, digits, '_' or '-', starting with a letter)."
  done
}

check_tools() {
  [[ $DRY_RUN == true ]] && return 0
  local tool
  for tool in gcloud node npm npx; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH; install it, or use --dry-run to see the commands."
  done
}

job_id() { printf '%s' "$1" | tr 'A-Z_' 'a-z-'; }

sa_email() { printf '%s@%s.iam.gserviceaccount.com' "$1" "$PROJECT"; }
member() { printf 'serviceAccount:%s' "$(sa_email "$1")"; }

function_url() {
  if [[ $DRY_RUN == true ]]; then
    printf 'https://<url of %s>' "$1"
  else
    gcloud functions describe "$1" --region="$REGION" --project="$PROJECT" --format='value(serviceConfig.uri)'
  fi
}

enable_apis() {
  say 'Enabling the APIs'
  run gcloud services enable firestore.googleapis.com firebaserules.googleapis.com pubsub.googleapis.com \
    run.googleapis.com cloudfunctions.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com \
    eventarc.googleapis.com cloudscheduler.googleapis.com iam.googleapis.com logging.googleapis.com \
    --project="$PROJECT"
}

create_firestore() {
  say "Firestore: the database $DATABASE, its rules and indexes"
  exists gcloud firestore databases describe --database="$DATABASE" --project="$PROJECT" ||
    run gcloud firestore databases create --database="$DATABASE" --location="$FIRESTORE_LOCATION" \
      --type=firestore-native --project="$PROJECT"
  # Rules and indexes from the repository's files, with the collection prefix applied, for that database.
  run node deploy/stage-firestore.mjs --prefix="$PREFIX" --database="$DATABASE" "$STAGING_DIR/firestore"
  run npx --no firebase deploy --only=firestore:rules,firestore:indexes --project="$PROJECT" \
    --config="$STAGING_DIR/firestore/firebase.json" --non-interactive
}

create_topic() {
  say "Pub/Sub: topic $TOPIC"
  exists gcloud pubsub topics describe "$TOPIC" --project="$PROJECT" ||
    run gcloud pubsub topics create "$TOPIC" --project="$PROJECT"
}

create_service_accounts() {
  say 'Service accounts: one per component'
  local id description
  while IFS='|' read -r id description; do
    exists gcloud iam service-accounts describe "$(sa_email "$id")" --project="$PROJECT" ||
      run gcloud iam service-accounts create "$id" --display-name="$description" --project="$PROJECT"
  done <<'EOF'
e11-caller|E11 Jobs: backend running the SDK
e11-task|E11 Jobs: Cloud Run job tasks
e11-functions|E11 Jobs: onJobWritten, sweep and schedulerTick
e11-trigger|E11 Jobs: Eventarc trigger of onJobWritten
e11-scheduler|E11 Jobs: Cloud Scheduler OIDC identity
EOF
}

grant_project_role() {
  run gcloud projects add-iam-policy-binding "$PROJECT" --member="$(member "$1")" --role="$2" --condition=None
}

# A Firestore role on E11's database only: Firestore's per-database IAM condition on resource.name.
grant_database_role() {
  run gcloud projects add-iam-policy-binding "$PROJECT" --member="$(member "$1")" --role="$2" \
    --condition="expression=resource.name==\"projects/$PROJECT/databases/$DATABASE\",title=e11-database-only,description=Only the Firestore database $DATABASE"
}

# The Cloud Scheduler job verbs the SDK's schedule sync calls (create, update, pause, resume, delete, get).
readonly SCHEDULER_ROLE_ID=e11SchedulerJobs
readonly SCHEDULER_PERMISSIONS=cloudscheduler.jobs.create,cloudscheduler.jobs.update,cloudscheduler.jobs.pause,cloudscheduler.jobs.enable,cloudscheduler.jobs.delete,cloudscheduler.jobs.get

create_custom_roles() {
  say "IAM: custom role $SCHEDULER_ROLE_ID (Cloud Scheduler job verbs only)"
  local verb=create
  exists gcloud iam roles describe "$SCHEDULER_ROLE_ID" --project="$PROJECT" && verb=update
  run gcloud iam roles "$verb" "$SCHEDULER_ROLE_ID" --project="$PROJECT" --title='E11 Jobs schedules' \
    --description='Create, update, pause, resume and delete Cloud Scheduler jobs (E11 Jobs schedules)' \
    --permissions="$SCHEDULER_PERMISSIONS" --stage=GA
}

grant_roles() {
  say 'IAM: least-privilege bindings (docs/production.md lists them with the reason for each)'
  # Firestore has no per-collection IAM; datastore.user is the smallest predefined role that reads and
  # writes, and the condition keeps it to E11's database: the app's other databases stay out of reach.
  grant_database_role e11-caller roles/datastore.user
  grant_database_role e11-task roles/datastore.user
  grant_database_role e11-functions roles/datastore.user
  # Schedules: the backend creates, updates, pauses and deletes their Cloud Scheduler jobs. Cloud Scheduler
  # has no per-job IAM and no resource attributes for IAM conditions: a custom role with the job verbs only.
  grant_project_role e11-caller "projects/$PROJECT/roles/$SCHEDULER_ROLE_ID"
  # Firestore direct events are delivered to the trigger's identity.
  grant_project_role e11-trigger roles/eventarc.eventReceiver
  # Publishing JobCompletedEvents: the functions (completion, sweep) and the backend (cancel, sweep).
  local sa
  for sa in e11-functions e11-caller; do
    run gcloud pubsub topics add-iam-policy-binding "$TOPIC" --member="$(member "$sa")" \
      --role=roles/pubsub.publisher --project="$PROJECT"
  done
  # The backend gives each schedule's Cloud Scheduler job the scheduler identity (actAs on that one account).
  run gcloud iam service-accounts add-iam-policy-binding "$(sa_email e11-scheduler)" \
    --member="$(member e11-caller)" --role=roles/iam.serviceAccountUser --project="$PROJECT"
}

deploy_cloud_run_jobs() {
  local name id sa
  for name in "${JOB_NAMES[@]}"; do
    id=$(job_id "$name")
    say "Cloud Run job $id (@JobName('$name'))"
    run gcloud run jobs deploy "$id" --image="$IMAGE" --region="$REGION" --project="$PROJECT" \
      --service-account="$(sa_email e11-task)" --max-retries=1 --task-timeout="$TASK_TIMEOUT" \
      --update-env-vars="GOOGLE_CLOUD_PROJECT=$PROJECT,E11_COLLECTION_PREFIX=$PREFIX,E11_FIRESTORE_DATABASE=$DATABASE"
    # Launch with env overrides, and cancel executions: the SDK (kickOffJob, cancel) and the functions
    # (sweep relaunches, schedulerTick kick-offs). Bound on this job only.
    for sa in e11-caller e11-functions; do
      run gcloud run jobs add-iam-policy-binding "$id" --region="$REGION" --project="$PROJECT" \
        --member="$(member "$sa")" --role=roles/run.jobsExecutorWithOverrides
    done
  done
}

stage_functions() {
  say 'Functions: building and packing @e11/core, @e11/sdk and @e11/functions'
  run npx tsc -b packages/functions packages/sdk
  if [[ -n $PIPELINES_MODULE ]]; then
    run node deploy/stage-functions.mjs "$STAGING_DIR/functions" --pipelines="$PIPELINES_MODULE"
  else
    run node deploy/stage-functions.mjs "$STAGING_DIR/functions"
  fi
}

deploy_function() {
  local name=$1 entry_point=$2
  shift 2
  run gcloud functions deploy "$name" --gen2 --runtime=nodejs22 --region="$REGION" --project="$PROJECT" \
    --source="$STAGING_DIR/functions" --entry-point="$entry_point" \
    --service-account="$(sa_email e11-functions)" --memory=512Mi --cpu=1 \
    --update-env-vars="GOOGLE_CLOUD_PROJECT=$PROJECT,E11_REGION=$REGION,E11_TOPIC=$TOPIC,E11_COLLECTION_PREFIX=$PREFIX,E11_FIRESTORE_DATABASE=$DATABASE${PIPELINES_MODULE:+,E11_PIPELINES_MODULE=./pipelines.js}" \
    "$@"
}

deploy_functions() {
  say 'Functions: onJobWritten (Firestore trigger), sweep and schedulerTick (HTTP, private)'
  # --retry: a failed delivery is redelivered instead of dropped (the sweeper reconciles either way).
  # --concurrency: deliveries of one orchestration share an instance, where their checks are coalesced.
  # document.v1.written: a job's document is created when its task claims it, or when it ends unstarted.
  deploy_function e11-on-job-written onJobWritten \
    --trigger-location="$FIRESTORE_LOCATION" \
    --trigger-event-filters=type=google.cloud.firestore.document.v1.written \
    --trigger-event-filters="database=$DATABASE" \
    --trigger-event-filters-path-pattern="document=${PREFIX}orchestrations/{orchestrationId}/jobs/{jobId}" \
    --trigger-service-account="$(sa_email e11-trigger)" --retry --concurrency=80
  deploy_function e11-sweep sweep --trigger-http --no-allow-unauthenticated --timeout=540s
  # Matches the 30 min attempt deadline the SDK gives each schedule's Cloud Scheduler job.
  deploy_function e11-scheduler-tick schedulerTick --trigger-http --no-allow-unauthenticated --timeout=1800s
  run gcloud functions add-invoker-policy-binding e11-on-job-written --region="$REGION" --project="$PROJECT" \
    --member="$(member e11-trigger)"
  local name
  for name in e11-sweep e11-scheduler-tick; do
    run gcloud functions add-invoker-policy-binding "$name" --region="$REGION" --project="$PROJECT" \
      --member="$(member e11-scheduler)"
  done
}

schedule_sweep() {
  say 'Cloud Scheduler: e11-sweep every minute'
  local url verb=create
  url=$(function_url e11-sweep)
  exists gcloud scheduler jobs describe e11-sweep --location="$REGION" --project="$PROJECT" && verb=update
  run gcloud scheduler jobs "$verb" http e11-sweep --location="$REGION" --project="$PROJECT" \
    --schedule='* * * * *' --uri="$url" --http-method=POST \
    --oidc-service-account-email="$(sa_email e11-scheduler)" --oidc-token-audience="$url" \
    --attempt-deadline=540s
}

summary() {
  local tick_url
  tick_url=$(function_url e11-scheduler-tick)
  cat >&2 <<EOF
==> Done. Run your backend as $(sa_email e11-caller) with:
    GOOGLE_CLOUD_PROJECT=$PROJECT E11_REGION=$REGION E11_TOPIC=$TOPIC E11_COLLECTION_PREFIX=$PREFIX E11_FIRESTORE_DATABASE=$DATABASE
    and, for schedules, cloudScheduler: { projectId: '$PROJECT', location: '$REGION',
      targetUrl: '$tick_url', serviceAccountEmail: '$(sa_email e11-scheduler)' }
EOF
}

main() {
  parse_args "$@"
  validate_args
  check_tools
  cd "$REPO_ROOT"
  enable_apis
  create_firestore
  create_topic
  create_service_accounts
  create_custom_roles
  grant_roles
  deploy_cloud_run_jobs
  stage_functions
  deploy_functions
  schedule_sweep
  summary
}

main "$@"
