// llmux completion bash|zsh, and the hidden `llmux __complete WHAT` the script calls for names.
// The script lives only here: install it with `llmux completion bash > …/bash_completion.d/llmux`.
#include <cstdio>
#include <set>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "store/prompts.hpp"
#include "store/provider_store.hpp"
#include "store/vault.hpp"

namespace llmux::cli {

namespace {

constexpr const char* kBashScript = R"LLMUX(# bash completion for llmux. Install one of:
#   llmux completion bash > ~/.local/share/bash-completion/completions/llmux
#   source <(llmux completion bash)        # in ~/.bashrc
#   source <(llmux completion zsh)         # in ~/.zshrc (uses bashcompinit)
_llmux_names() {
  "${COMP_WORDS[0]}" __complete "$1" 2>/dev/null
}

_llmux() {
  local cur prev cmd="" sub="" i w skip=0
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local valued=" -c --config --host --port --threads --type -m --model --default-model -H --header --auth-type --auth-header --api-key-env --context-window --price-input --price-output --price-input-per-mtok --price-output-per-mtok --price-cached-input-per-mtok --price-cache-write-per-mtok --price-reasoning-per-mtok --priority --timeout --max-retries --name --url --remove-model --remove-header --test -s --system -t --temperature --max-tokens --gateway --gateway-key -P --param -d --description -p --provider --budget-daily --budget-monthly --rpm --tpm --models --expires "
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ $w == -* ]]; then
      [[ $valued == *" $w "* ]] && skip=1
      continue
    fi
    if [[ -z $cmd ]]; then cmd=$w
    elif [[ -z $sub ]]; then sub=$w
    fi
  done

  case $prev in
    -p|--provider)
      if [[ $cmd != serve ]]; then
        local names
        names=$(_llmux_names providers)
        COMPREPLY=($(compgen -W "$names $(printf 'custom:%s ' $names)" -- "$cur"))
      fi
      return ;;
    --type) COMPREPLY=($(compgen -W "openai-compatible openai ollama vllm lmstudio together groq openrouter mistral deepseek fireworks custom" -- "$cur")); return ;;
    --auth-type) COMPREPLY=($(compgen -W "bearer api-key basic none" -- "$cur")); return ;;
    --test) COMPREPLY=($(compgen -W "auth models chat streaming errors" -- "$cur")); return ;;
    -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  [[ $valued == *" $prev "* ]] && return

  local opts=""
  case $cmd in
    "")
      COMPREPLY=($(compgen -W "serve validate provider api-key config keys chat models prompt create run completion --help --help-all --version" -- "$cur"))
      return ;;
    serve) opts="--config --host --port --threads --dry-run --no-discover --no-watch" ;;
    validate) opts="--config --json" ;;
    provider)
      local edit="--type --model --default-model --header --auth-type --auth-header --api-key-env --context-window --price-input --price-output --price-input-per-mtok --price-output-per-mtok --price-cached-input-per-mtok --price-cache-write-per-mtok --price-reasoning-per-mtok --priority --timeout --max-retries --name"
      case $sub in
        "") COMPREPLY=($(compgen -W "add list info update remove enable disable default test --help" -- "$cur")); return ;;
        add) opts="$edit --disabled" ;;
        update) opts="$edit --url --remove-model --clear-models --remove-header --no-api-key --enable --disable" ;;
        list) opts="--json --all --config" ;;
        info) opts="--json --config" ;;
        test) opts="--test --model --json --config" ;;
        default) opts="--config" ;;
      esac
      if [[ $cur != -* && $sub =~ ^(info|update|remove|enable|disable|default|test)$ ]]; then
        COMPREPLY=($(compgen -W "$(_llmux_names providers)" -- "$cur"))
        return
      fi ;;
    api-key)
      opts="--remove"
      if [[ $cur != -* ]]; then COMPREPLY=($(compgen -W "$(_llmux_names providers)" -- "$cur")); return; fi ;;
    config)
      case $sub in
        "") COMPREPLY=($(compgen -W "set get unset list path --help" -- "$cur")); return ;;
        set|get|unset)
          if [[ $prev == "$sub" ]]; then
            COMPREPLY=($(compgen -W "default_provider $(_llmux_names keys | sed 's/^/api_keys./') api_keys." -- "$cur"))
            return
          fi ;;
        list) opts="--json" ;;
      esac ;;
    keys)
      local limits="--budget-daily --budget-monthly --rpm --tpm --models --expires"
      case $sub in
        "") COMPREPLY=($(compgen -W "create list show update revoke --help" -- "$cur")); return ;;
        create) opts="--name $limits --json --config" ;;
        update) opts="$limits --all-models --json --config" ;;
        list|show|revoke) opts="--json --config" ;;
      esac ;;
    chat) opts="--provider --model --system --temperature --max-tokens --stream --json --usage --gateway --gateway-key --config" ;;
    run)
      opts="--param --dry-run --execute --provider --model --system --temperature --max-tokens --stream --json --usage --gateway --gateway-key --config"
      if [[ $cur != -* && -z $sub ]]; then COMPREPLY=($(compgen -W "$(_llmux_names prompts)" -- "$cur")); return; fi ;;
    models)
      opts="--json --gateway --gateway-key --config"
      if [[ $cur != -* && -z $sub ]]; then COMPREPLY=($(compgen -W "$(_llmux_names providers)" -- "$cur")); return; fi ;;
    prompt)
      case $sub in
        "") COMPREPLY=($(compgen -W "create list show remove --help" -- "$cur")); return ;;
        create) opts="--system --description --force" ;;
        list) opts="--json" ;;
        show|remove)
          opts="--json"
          if [[ $cur != -* ]]; then COMPREPLY=($(compgen -W "$(_llmux_names prompts)" -- "$cur")); return; fi ;;
      esac ;;
    create) opts="--system --description --force" ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
}
complete -F _llmux llmux
)LLMUX";

}  // namespace

int completion(const std::string& shell) {
  if (shell == "zsh") std::fputs("autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n", stdout);
  std::fputs(kBashScript, stdout);
  return kOk;
}

int complete_names(const std::string& what) {
  auto paths = store::Paths::from_environment();
  std::set<std::string> names;
  if (what == "providers") {
    store::ProviderStore st(paths.providers());
    if (st.load())
      for (const auto& id : st.ids()) names.insert(id);
    if (auto file = paths.default_config_file(); !file.empty()) {
      if (auto text = store::read_file(file); text && *text) {
        try {
          for (const auto& p : store::raw_providers(YAML::Load(**text))) names.insert(p.id);
        } catch (const YAML::Exception&) {
        }
      }
    }
  } else if (what == "prompts") {
    store::PromptStore prompts(paths.prompts());
    if (prompts.load())
      for (const auto& p : prompts.prompts()) names.insert(p.name);
  } else if (what == "keys") {
    store::Vault vault(paths);
    if (vault.load())
      for (const auto& n : vault.names()) names.insert(n);
  } else {
    return kUsage;
  }
  for (const auto& n : names) std::printf("%s\n", n.c_str());
  return kOk;
}

}  // namespace llmux::cli
