/* fuzz_task_file: the task file (driver/task.c, rd_task_parse, the driver
 * config within it through driver/validate.c), then what the start path
 * builds from it before anything runs: the task env (driver/taskenv.c) and
 * rkt's command lines (driver/rktargs.c, rd_build_args), which refuse what
 * only the env reveals. This is `rkt-driver validate` and the checks of a
 * start, without rkt.
 *
 * Properties: a file is accepted or refused with one sentence (refused when
 * a string holds \u0000, which cJSON would cut short); an accepted
 * task has a name, an image and resources within Nomad's minimums; when its
 * rkt arguments build, no value reaches rkt's argv as something other than
 * what its key says (validate.h): the image is not a flag, no app argument
 * is "---", --volume's source adds no option, --mount's target no query
 * separator, --net and --insecure-options exactly one entry per configured
 * value, --port's name no host IP; volume names are ACNames. */
#include "fuzz.h"
#include "jsonutil.h"
#include "rktargs.h"
#include "strv.h"
#include "task.h"
#include "taskenv.h"

static size_t count(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static void check_acname(const char *name)
{
	FUZZ_CHECK(name[0] != '\0' && name[0] != '-');
	FUZZ_CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name));
}

/* The --volume=NAME,kind=host,source=SRC[,readOnly=X] and --mount=volume=NAME,target=T
 * arguments, and the others' values, as rkt will split them. */
static void check_prepare(const rd_task *t, const strv *prepare)
{
	size_t apps = 0, seps = 0;
	bool in_args = false;

	for (size_t i = 0; i < prepare->n; i++) {
		const char *a = prepare->v[i], *v;
		if (in_args) {
			FUZZ_CHECK(strcmp(a, "---") != 0);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			in_args = true;
			seps++;
			continue;
		}
		if ((v = after(a, "--volume=")) != NULL) {
			const char *comma = strchr(v, ',');
			char *name;
			FUZZ_CHECK(comma != NULL && (name = strndup(v, (size_t)(comma - v))) != NULL);
			check_acname(name);
			free(name);
			/* kind, source and, for the config's volumes, readOnly */
			FUZZ_CHECK(count(v, ',') == (strstr(v, ",readOnly=") != NULL ? 3u : 2u));
		} else if ((v = after(a, "--mount=volume=")) != NULL) {
			const char *target = strstr(v, ",target=");
			FUZZ_CHECK(target != NULL && count(v, ',') == 1);
			FUZZ_CHECK(strpbrk(target + 8, "&;%+") == NULL);
		} else if ((v = after(a, "--port=")) != NULL) {
			FUZZ_CHECK(count(v, ':') == 1);
		} else if ((v = after(a, "--set-env=")) != NULL) {
			FUZZ_CHECK(strchr(v, '=') != NULL); /* rkt splits at the first: keys have none */
		} else if (a[0] != '-' && strcmp(a, "prepare") != 0) {
			apps++; /* the image, rkt's one positional word before the args */
			FUZZ_CHECK(strcmp(a, t->config.image) == 0);
		}
	}
	FUZZ_CHECK(apps == 1 && seps <= 1);
	FUZZ_CHECK(t->config.image[0] != '-');
}

static void check_run(const rd_task *t, const strv *global, const strv *run)
{
	for (size_t i = 0; i < run->n; i++) {
		const char *v;
		if ((v = after(run->v[i], "--net=")) != NULL)
			FUZZ_CHECK(count(v, ',') + 1 == t->config.net.n);
		else if ((v = after(run->v[i], "--dns-search=")) != NULL)
			for (const unsigned char *p = (const unsigned char *)v; *p; p++)
				FUZZ_CHECK(*p > ' ' && *p != 0x7f);
	}
	for (size_t i = 0; i < global->n; i++) {
		const char *v = after(global->v[i], "--insecure-options=");
		if (v != NULL && t->config.insecure_options.n > 0)
			FUZZ_CHECK(count(v, ',') + 1 == t->config.insecure_options.n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const rd_host_dirs dirs = {
		.shared_alloc_dir = "/var/lib/rkt-driver/tasks/0a1b2c3d-hello/alloc",
		.local_dir = "/var/lib/rkt-driver/tasks/0a1b2c3d-hello/hello/local",
		.secrets_dir = "/var/lib/rkt-driver/tasks/0a1b2c3d-hello/hello/secrets",
	};
	char *text = fuzz_cstr(data, size), *err = NULL;
	rd_task t;
	rd_rkt_args args;
	kvmap env = {0};

	int rc = rd_task_parse(text, &t, &err);

	/* cJSON would cut a string at a \u0000: such text is refused */
	if (json_nul_escape(text) >= 0)
		FUZZ_CHECK(rc != 0);
	if (rc != 0) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		free(err);
		free(text);
		return 0;
	}
	FUZZ_CHECK(err == NULL);
	FUZZ_CHECK(t.name != NULL && t.name[0] != '\0');
	FUZZ_CHECK(t.config.image != NULL && t.config.image[0] != '\0');
	FUZZ_CHECK(t.cpu_mhz >= RD_MIN_CPU_MHZ && t.memory_mb >= RD_MIN_MEMORY_MB);
	FUZZ_CHECK(t.kill_timeout_ns >= 0 && t.log_max_files >= 1 && t.log_max_file_size_mb >= 1);
	/* as a start gives it one, but the same every run */
	if (t.alloc_id == NULL)
		FUZZ_CHECK((t.alloc_id = strdup("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")) != NULL);
	if (rd_taskenv_build(&t, NULL, &env, &err) != 0) {
		FUZZ_CHECK(err != NULL);
		free(err);
		err = NULL;
	} else {
		for (size_t i = 0; i < env.n; i++)
			FUZZ_CHECK(strchr(env.v[i].key, '=') == NULL);
		for (size_t i = 0; i < 2; i++) {
			rd_args_opts opts = {.volumes_enabled = i == 0};
			if (rd_build_args(&t, &env, &dirs, &opts, &args, &err) != 0) {
				FUZZ_CHECK(err != NULL && err[0] != '\0');
				free(err);
				err = NULL;
				continue;
			}
			check_prepare(&t, &args.prepare);
			check_run(&t, &args.prepare, &args.run);
			rd_rkt_args_free(&args);
		}
	}
	char *vol = rd_volume_name(t.alloc_id, t.name, "alloc");
	FUZZ_CHECK(vol != NULL);
	check_acname(vol);
	free(vol);
	kvmap_free(&env);
	rd_task_free(&t);
	free(text);
	return 0;
}
