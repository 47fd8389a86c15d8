/* Shell completions for bash, zsh and fish, printed from the help table:
 * commands, each command's options, and what their values are. Stage
 * names are read from edgeship.conf and revisions from git when the user
 * presses Tab, through `git config` and `git for-each-ref`. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "help.h"

static const char *const value_word[] = {
        [ES_VAL_NONE] = "",           [ES_VAL_TEXT] = "text", [ES_VAL_STAGE] = "stage",
        [ES_VAL_REV] = "rev",         [ES_VAL_FILE] = "file", [ES_VAL_THEME] = "theme",
        [ES_VAL_COMMAND] = "command",
};

/* The help's first clause, for a completion menu: up to "; ", " (" or ", e.g.". */
static void short_help(char *buf, size_t size, const char *help)
{
	size_t n = strlen(help);
	const char *cut[] = {"; ", " (", ", e.g.", ": "};

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		const char *p = strstr(help, cut[i]);
		if (p && (size_t)(p - help) < n)
			n = (size_t)(p - help);
	}
	if (n >= size)
		n = size - 1;
	memcpy(buf, help, n);
	buf[n] = '\0';
}

/* s for inside '…' in a shell; extra (if not NULL) lists characters that
 * get a backslash as well (zsh's _arguments brackets and colons). */
static void escaped(FILE *out, const char *s, const char *extra, bool fish)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs(fish ? "\\'" : "'\\''", out);
		else if (fish && *s == '\\')
			fputs("\\\\", out);
		else if (extra && strchr(extra, *s))
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
}

static void quoted(FILE *out, const char *s, bool fish)
{
	fputc('\'', out);
	escaped(out, s, NULL, fish);
	fputc('\'', out);
}

static bool is_positional(const struct es_help_option *o)
{
	return o->name[0] != '-';
}

/* ------------------------------------------------------------ bash */

static const char bash_helpers[] =
        "_edgeship_stages() {\n"
        "\tlocal top\n"
        "\ttop=$(git rev-parse --show-toplevel 2>/dev/null) || return 0\n"
        "\tgit config -f \"$top/edgeship.conf\" --name-only --get-regexp "
        "'^stage\\..*\\.stack$' 2>/dev/null |\n"
        "\t\tsed -e 's/^stage\\.//' -e 's/\\.stack$//'\n"
        "}\n"
        "\n"
        "_edgeship_revs() {\n"
        "\techo HEAD\n"
        "\tgit for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes "
        "2>/dev/null\n"
        "}\n"
        "\n"
        "# _edgeship_values KIND CUR: what a value of that kind can be.\n"
        "_edgeship_values() {\n"
        "\tlocal IFS=$'\\n'\n"
        "\tcase $1 in\n"
        "\tstage) COMPREPLY=($(compgen -W \"$(_edgeship_stages)\" -- \"$2\")) ;;\n"
        "\trev) COMPREPLY=($(compgen -W \"$(_edgeship_revs)\" -- \"$2\")) ;;\n"
        "\tfile) COMPREPLY=($(compgen -f -- \"$2\")) ;;\n"
        "\ttheme) COMPREPLY=($(compgen -W $'default\\nlight\\nhigh-contrast\\nmono' -f -- "
        "\"$2\")) ;;\n"
        "\tcommand) COMPREPLY=($(compgen -W \"${_edgeship_commands// /$'\\n'}\" -- \"$2\")) ;;\n"
        "\t*) COMPREPLY=() ;;\n"
        "\tesac\n"
        "}\n"
        "\n"
        "_edgeship() {\n"
        "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
        "\tlocal cmd='' kind i\n"
        "\tCOMPREPLY=()\n"
        "\t# The command: the first word that is neither an option nor its value.\n"
        "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
        "\t\tcase ${COMP_WORDS[i]} in\n"
        "\t\t-*) [[ -n $(_edgeship_value '' \"${COMP_WORDS[i]}\") ]] && ((i++)) ;;\n"
        "\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n"
        "\t\tesac\n"
        "\tdone\n"
        "\tif ((COMP_CWORD > 1)); then\n"
        "\t\tkind=$(_edgeship_value \"$cmd\" \"$prev\")\n"
        "\t\tif [[ -n $kind ]]; then\n"
        "\t\t\t_edgeship_values \"$kind\" \"$cur\"\n"
        "\t\t\treturn 0\n"
        "\t\tfi\n"
        "\tfi\n"
        "\tif [[ -z $cmd ]]; then\n"
        "\t\tif [[ $cur == -* ]]; then\n"
        "\t\t\tCOMPREPLY=($(compgen -W \"$_edgeship_global\" -- \"$cur\"))\n"
        "\t\telse\n"
        "\t\t\tCOMPREPLY=($(compgen -W \"$_edgeship_commands\" -- \"$cur\"))\n"
        "\t\tfi\n"
        "\telif [[ $cur == -* ]]; then\n"
        "\t\tCOMPREPLY=($(compgen -W \"$(_edgeship_options \"$cmd\")\" -- \"$cur\"))\n"
        "\telse\n"
        "\t\t_edgeship_values \"$(_edgeship_operand \"$cmd\")\" \"$cur\"\n"
        "\tfi\n"
        "\treturn 0\n"
        "}\n"
        "\n"
        "complete -F _edgeship edgeship\n";

static void bash_words(FILE *out, const struct es_help_option *o, bool help)
{
	bool first = true;

	for (; o->name; o++) {
		if (is_positional(o))
			continue;
		fprintf(out, "%s%s", first ? "" : " ", o->name);
		if (o->alias)
			fprintf(out, " %s", o->alias);
		first = false;
	}
	if (help)
		fprintf(out, "%s--help -h", first ? "" : " ");
}

/* "'deploy --stage'|'deploy -s') echo stage ;;" for each option with a value. */
static void bash_values(FILE *out, const char *cmd, const struct es_help_option *o)
{
	for (; o->name; o++) {
		if (is_positional(o) || o->value == ES_VAL_NONE)
			continue;
		fprintf(out, "\t'%s%s%s'", cmd, *cmd ? " " : "", o->name);
		if (o->alias)
			fprintf(out, "|'%s%s%s'", cmd, *cmd ? " " : "", o->alias);
		fprintf(out, ") echo %s ;;\n", value_word[o->value]);
	}
}

static void bash(FILE *out)
{
	size_t n;
	const struct es_help_command *c = es_help_commands(&n);

	fputs("# bash completion for edgeship(1).\n"
	      "# Generated by `edgeship help --completion bash` from its help table.\n\n",
	      out);
	fputs("_edgeship_commands='", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? " " : "", c[i].name);
	fputs("'\n_edgeship_global='", out);
	bash_words(out, es_help_global_options(), false);
	fputs("'\n\n# _edgeship_options COMMAND: the options it takes.\n"
	      "_edgeship_options() {\n\tcase $1 in\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t%s) echo '", c[i].name);
		bash_words(out, c[i].options, true);
		fputs("' ;;\n", out);
	}
	fputs("\tesac\n}\n\n"
	      "# _edgeship_value COMMAND OPTION: what the option's value is (nothing: a flag).\n"
	      "_edgeship_value() {\n\tcase \"$1${1:+ }$2\" in\n",
	      out);
	bash_values(out, "", es_help_global_options());
	for (size_t i = 0; i < n; i++)
		bash_values(out, c[i].name, c[i].options);
	fputs("\tesac\n}\n\n"
	      "# _edgeship_operand COMMAND: what its positional arguments are.\n"
	      "_edgeship_operand() {\n\tcase $1 in\n",
	      out);
	for (size_t i = 0; i < n; i++)
		for (const struct es_help_option *o = c[i].options; o->name; o++)
			if (is_positional(o) && o->value != ES_VAL_TEXT) {
				fprintf(out, "\t%s) echo %s ;;\n", c[i].name, value_word[o->value]);
				break;
			}
	fputs("\tesac\n}\n\n", out);
	fputs(bash_helpers, out);
}

/* ------------------------------------------------------------ zsh */

static const char zsh_helpers[] =
        "_edgeship_stages() {\n"
        "\tlocal top expl\n"
        "\tlocal -a stages\n"
        "\ttop=$(git rev-parse --show-toplevel 2>/dev/null) || return 1\n"
        "\tstages=(${(f)\"$(git config -f $top/edgeship.conf --name-only --get-regexp "
        "'^stage\\..*\\.stack$' 2>/dev/null)\"})\n"
        "\tstages=(${${stages#stage.}%.stack})\n"
        "\t_wanted stages expl stage compadd -a stages\n"
        "}\n"
        "\n"
        "_edgeship_revs() {\n"
        "\tlocal expl\n"
        "\tlocal -a revs\n"
        "\trevs=(HEAD ${(f)\"$(git for-each-ref --format='%(refname:short)' refs/heads "
        "refs/tags refs/remotes 2>/dev/null)\"})\n"
        "\t_wanted revisions expl revision compadd -a revs\n"
        "}\n"
        "\n"
        "_edgeship_themes() {\n"
        "\t_alternative 'themes:theme:(default light high-contrast mono)' 'files:theme "
        "file:_files'\n"
        "}\n"
        "\n"
        "_edgeship_commands() {\n"
        "\t_describe -t commands 'edgeship command' _edgeship_command_list\n"
        "}\n";

static const char *const zsh_action[] = {
        [ES_VAL_NONE] = "",
        [ES_VAL_TEXT] = " ",
        [ES_VAL_STAGE] = "_edgeship_stages",
        [ES_VAL_REV] = "_edgeship_revs",
        [ES_VAL_FILE] = "_files",
        [ES_VAL_THEME] = "_edgeship_themes",
        [ES_VAL_COMMAND] = "_edgeship_commands",
};

/* One _arguments spec per option or positional, continued with " \". */
static void zsh_specs(FILE *out, const struct es_help_option *o, const char *indent)
{
	char h[128];

	for (; o->name; o++) {
		short_help(h, sizeof(h), o->help);
		fputs(indent, out);
		if (is_positional(o)) {
			/* PATH… repeats; the others are the first operand. */
			fputs(o->value == ES_VAL_TEXT && strcmp(o->name, "PATH") == 0 ? "'*:"
			                                                              : "'1:",
			      out);
			fprintf(out, "%s:%s' \\\n", o->name, zsh_action[o->value]);
			continue;
		}
		/* '(-s --stage)'{-s,--stage}'[meaning]:NAME:action' */
		if (o->alias)
			fprintf(out, "'(%s %s)'{%s,%s}'[", o->alias, o->name, o->alias, o->name);
		else
			fprintf(out, "'%s[", o->name);
		escaped(out, h, "[]:\\", false);
		fputc(']', out);
		if (o->value != ES_VAL_NONE)
			fprintf(out, ":%s:%s", o->arg ? o->arg : "value", zsh_action[o->value]);
		fputc('\'', out);
		fputs(" \\\n", out);
	}
}

static void zsh(FILE *out)
{
	size_t n;
	const struct es_help_command *c = es_help_commands(&n);

	fputs("#compdef edgeship\n"
	      "# zsh completion for edgeship(1).\n"
	      "# Generated by `edgeship help --completion zsh` from its help table.\n\n",
	      out);
	fputs("_edgeship_command_list=(\n", out);
	for (size_t i = 0; i < n; i++) {
		char h[160];
		snprintf(h, sizeof(h), "%s:%s", c[i].name, c[i].summary);
		fputc('\t', out);
		quoted(out, h, false);
		fputc('\n', out);
	}
	fputs(")\n\n", out);
	fputs(zsh_helpers, out);
	fputs("\n_edgeship() {\n"
	      "\tlocal curcontext=$curcontext state line ret=1\n"
	      "\ttypeset -A opt_args\n"
	      "\t_arguments -C \\\n",
	      out);
	zsh_specs(out, es_help_global_options(), "\t\t");
	fputs("\t\t'1:command:_edgeship_commands' \\\n"
	      "\t\t'*::argument:->args' && ret=0\n"
	      "\tcase $state in\n"
	      "\targs)\n"
	      "\t\tcurcontext=${curcontext%:*:*}:edgeship-$line[1]:\n"
	      "\t\tcase $line[1] in\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "\t\t%s)\n\t\t\t_arguments \\\n", c[i].name);
		zsh_specs(out, c[i].options, "\t\t\t\t");
		fputs("\t\t\t\t'(- *)'{-h,--help}'[show this command'\\''s help]' && ret=0\n"
		      "\t\t\t;;\n",
		      out);
	}
	fputs("\t\tesac\n\t\t;;\n\tesac\n\treturn ret\n}\n\n"
	      "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	      "\t_edgeship \"$@\"\n"
	      "else\n"
	      "\tcompdef _edgeship edgeship\n"
	      "fi\n",
	      out);
}

/* ------------------------------------------------------------ fish */

static const char fish_helpers[] =
        "function __edgeship_stages\n"
        "\tset -l top (git rev-parse --show-toplevel 2>/dev/null); or return\n"
        "\tgit config -f $top/edgeship.conf --name-only --get-regexp '^stage\\..*\\.stack$' "
        "2>/dev/null | string replace -r '^stage\\.(.*)\\.stack$' '$1'\n"
        "end\n"
        "\n"
        "function __edgeship_revs\n"
        "\techo HEAD\n"
        "\tgit for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes "
        "2>/dev/null\n"
        "end\n";

/* The -x/-r/-a part of a `complete` line for a value of kind v. */
static void fish_value(FILE *out, enum es_help_value v, const char *commands)
{
	switch (v) {
	case ES_VAL_NONE: break;
	case ES_VAL_TEXT: fputs(" -x", out); break;
	case ES_VAL_STAGE: fputs(" -x -a '(__edgeship_stages)'", out); break;
	case ES_VAL_REV: fputs(" -x -a '(__edgeship_revs)'", out); break;
	case ES_VAL_FILE: fputs(" -r -F", out); break;
	case ES_VAL_THEME: fputs(" -r -F -a 'default light high-contrast mono'", out); break;
	case ES_VAL_COMMAND: fprintf(out, " -x -a '%s'", commands); break;
	}
}

static void fish_options(FILE *out, const char *cond, const struct es_help_option *o,
                         const char *commands)
{
	char h[128];

	for (; o->name; o++) {
		/* A positional of free text: nothing to offer (and files are off). */
		if (is_positional(o) && o->value == ES_VAL_TEXT)
			continue;
		short_help(h, sizeof(h), o->help);
		fprintf(out, "complete -c edgeship -n '%s'", cond);
		if (is_positional(o)) {
			fish_value(out, o->value, commands);
		} else {
			if (o->alias)
				fprintf(out, " -s %s", o->alias + 1);
			fprintf(out, " -l %s", o->name + 2);
			fish_value(out, o->value, commands);
		}
		fputs(" -d ", out);
		quoted(out, h, true);
		fputc('\n', out);
	}
}

static void fish(FILE *out)
{
	size_t n;
	const struct es_help_command *c = es_help_commands(&n);
	char commands[512] = "", cond[640];

	for (size_t i = 0; i < n; i++) {
		strncat(commands, " ", sizeof(commands) - strlen(commands) - 1);
		strncat(commands, c[i].name, sizeof(commands) - strlen(commands) - 1);
	}
	fputs("# fish completion for edgeship(1).\n"
	      "# Generated by `edgeship help --completion fish` from its help table.\n\n",
	      out);
	fputs(fish_helpers, out);
	fputs("\ncomplete -c edgeship -f\n", out);
	snprintf(cond, sizeof(cond), "not __fish_seen_subcommand_from%s", commands);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "complete -c edgeship -n '%s' -a %s -d ", cond, c[i].name);
		quoted(out, c[i].summary, true);
		fputc('\n', out);
	}
	fish_options(out, cond, es_help_global_options(), commands + 1);
	for (size_t i = 0; i < n; i++) {
		char sub[64];
		snprintf(sub, sizeof(sub), "__fish_seen_subcommand_from %s", c[i].name);
		fputc('\n', out);
		fish_options(out, sub, c[i].options, commands + 1);
		fprintf(out,
		        "complete -c edgeship -n '%s' -s h -l help -d 'show this command\\'s "
		        "help'\n",
		        sub);
	}
}

int es_help_completion(FILE *out, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		bash(out);
	else if (strcmp(shell, "zsh") == 0)
		zsh(out);
	else if (strcmp(shell, "fish") == 0)
		fish(out);
	else
		return -1;
	return 0;
}
