# shellcheck shell=bash
# Sourced by node-bootstrap.sh: the host checks and the pinned package installs.
# Uses from the caller: ROOT, KUBERNETES_VERSION, KUBERNETES_MINOR, PACKAGE_SOURCE,
# CONTAINERD_DEB_VERSION, CONTAINERD_RPM_VERSION, NETWORK_ATTEMPTS, log, fail, retry.

# The kubelet of 1.35 and later refuses to start on cgroup v1: failCgroupV1 defaults
# to true (kubernetes/kubernetes PR #134298, KEP-5573 "Set failCgroupV1 to true"), and
# kubeadm's preflight refuses such a host too. On cgroup v2 the unified hierarchy is
# mounted at /sys/fs/cgroup as cgroup2fs; on v1 it is a tmpfs of per-controller mounts.
# Refuse before anything is installed, saying which image to use instead.
require_cgroup_v2() {
  local mount="${CGROUP_ROOT:-/sys/fs/cgroup}" fs
  fs="$(stat -fc %T "$mount" 2>/dev/null || echo missing)"
  if [ "$fs" != cgroup2fs ]; then
    fail "this host runs cgroup v1 ($mount is $fs, not cgroup2fs) and the kubelet of Kubernetes $KUBERNETES_MINOR refuses cgroup v1. Use an image that boots cgroup v2: Ubuntu 22.04 or 24.04 (image.os: ubuntu-24.04), or pin image.id to an Alibaba Cloud Linux 3 container-optimized image (the standard Alibaba Cloud Linux 3 image boots cgroup v1: Alibaba Cloud ACK documentation, \"Migrate nodes to cgroup v2\")"
  fi
}

# The repositories of KUBERNETES_MINOR. Set again by each repository step: a joining control
# plane moves KUBERNETES_MINOR to the cluster's after this file is sourced (control-plane.sh).
set_repositories() {
  case "$PACKAGE_SOURCE" in
    aliyun-mirror)
      K8S_REPO="https://mirrors.aliyun.com/kubernetes-new/core/stable/v$KUBERNETES_MINOR"
      DOCKER_REPO="https://mirrors.aliyun.com/docker-ce/linux" ;;
    upstream)
      K8S_REPO="https://pkgs.k8s.io/core:/stable:/v$KUBERNETES_MINOR"
      DOCKER_REPO="https://download.docker.com/linux" ;;
    *) fail "unknown PACKAGE_SOURCE $PACKAGE_SOURCE" ;;
  esac
}
set_repositories

fetch() { curl -fsSL --max-time 60 "$1" -o "$2"; }

# A fresh Ubuntu cloud image runs apt's daily jobs (apt-daily*.timer, Persistent=true)
# soon after first boot, and unattended-upgrades then holds the dpkg lock for minutes.
# apt-get, unlike apt, does not wait for the lock unless told to: DPkg::Lock::Timeout
# (apt >= 1.9.11; apt-get(8), apt.conf(5)). The wait is bounded.
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"
apt_get() { apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT" "$@"; }

# The Kubernetes apt source of KUBERNETES_MINOR, and its key: pkgs.k8s.io keeps one
# repository per minor (kubernetes/website content/en/docs/tasks/administer-cluster/
# kubeadm/change-package-repository.md), so an upgrade to the next minor switches it.
apt_kubernetes_source() {
  local keys="$ROOT/etc/apt/keyrings"
  set_repositories
  mkdir -p "$keys"
  retry "$NETWORK_ATTEMPTS" fetch "$K8S_REPO/deb/Release.key" "$keys/kubernetes.asc"
  printf 'deb [signed-by=/etc/apt/keyrings/kubernetes.asc] %s/deb/ /\n' "$K8S_REPO" > "$ROOT/etc/apt/sources.list.d/kubernetes.list"
}

install_apt() {
  export DEBIAN_FRONTEND=noninteractive
  local keys="$ROOT/etc/apt/keyrings"
  apt_kubernetes_source
  retry "$NETWORK_ATTEMPTS" fetch "$DOCKER_REPO/ubuntu/gpg" "$keys/docker.asc"
  printf 'deb [signed-by=/etc/apt/keyrings/docker.asc] %s/ubuntu %s stable\n' "$DOCKER_REPO" "$VERSION_CODENAME" > "$ROOT/etc/apt/sources.list.d/docker.list"
  retry "$NETWORK_ATTEMPTS" apt_get update -q
  # pkgs.k8s.io debs are versioned <version>-1.1 (kubernetes.io "Installing kubeadm").
  local v="$KUBERNETES_VERSION-1.1"
  # Held packages (a run that stopped half-way) are moved to the pins too.
  retry "$NETWORK_ATTEMPTS" apt_get install -y -q --allow-downgrades --allow-change-held-packages \
    "kubelet=$v" "kubeadm=$v" "kubectl=$v" "containerd.io=$CONTAINERD_DEB_VERSION~ubuntu.$VERSION_ID~$VERSION_CODENAME"
  apt-mark hold kubelet kubeadm kubectl containerd.io
}

# The Kubernetes rpm repository of KUBERNETES_MINOR. exclude= keeps a routine `dnf update`
# from moving the pinned packages; installs lift it for this repository only (dnf.conf(5):
# exclude, --disableexcludes).
dnf_kubernetes_repo() {
  set_repositories
  cat > "$ROOT/etc/yum.repos.d/kubernetes.repo" <<REPO
[kubernetes]
name=Kubernetes $KUBERNETES_MINOR
baseurl=$K8S_REPO/rpm/
enabled=1
gpgcheck=1
gpgkey=$K8S_REPO/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
REPO
}

install_dnf() {
  dnf_kubernetes_repo
  # Alibaba Cloud Linux 3 is compatible with RHEL 8: Docker's el8 builds fit it. Docker
  # publishes them under linux/rhel/8 only (CentOS 8 builds stopped with CentOS
  # Stream 8's end of life: docker/docker-ce-packaging#1024, docker/for-linux#1517).
  # The "8" is literal: $releasever is 3 on Alibaba Cloud Linux 3.
  cat > "$ROOT/etc/yum.repos.d/docker-ce.repo" <<REPO
[docker-ce-stable]
name=Docker CE Stable
baseurl=$DOCKER_REPO/rhel/8/\$basearch/stable
enabled=1
gpgcheck=1
gpgkey=$DOCKER_REPO/rhel/gpg
exclude=containerd.io
REPO
  # pkgs.k8s.io rpm releases vary (1.36.1-150500.1.1, 1.36.2-150500.2.1): pin the version only.
  # --disableexcludes takes a list: dnf's cli/option_parser.py parses it with
  # _SplitCallback, which splits the value at commas and whitespace.
  retry "$NETWORK_ATTEMPTS" dnf install -y --disableexcludes=kubernetes,docker-ce-stable \
    "kubelet-$KUBERNETES_VERSION" "kubeadm-$KUBERNETES_VERSION" "kubectl-$KUBERNETES_VERSION" "containerd.io-$CONTAINERD_RPM_VERSION"
}

install_packages() {
  # shellcheck source=/dev/null
  . "$ROOT/etc/os-release"
  case "${ID:-}" in
    ubuntu) install_apt ;;
    alinux) install_dnf ;;
    *) fail "unsupported OS ${ID:-unknown}: use Ubuntu 22.04/24.04 or Alibaba Cloud Linux 3" ;;
  esac
}

# upgrade_kubernetes_packages PACKAGE...: move these Kubernetes packages to
# KUBERNETES_VERSION, from its minor's repository (switched first), and hold them again.
upgrade_kubernetes_packages() {
  # shellcheck source=/dev/null
  . "$ROOT/etc/os-release"
  case "${ID:-}" in
    ubuntu)
      export DEBIAN_FRONTEND=noninteractive
      apt_kubernetes_source
      retry "$NETWORK_ATTEMPTS" apt_get update -q
      local p pins=()
      for p in "$@"; do pins+=("$p=$KUBERNETES_VERSION-1.1"); done
      retry "$NETWORK_ATTEMPTS" apt_get install -y -q --allow-change-held-packages "${pins[@]}"
      apt-mark hold "$@" ;;
    alinux)
      dnf_kubernetes_repo
      local p pins=()
      for p in "$@"; do pins+=("$p-$KUBERNETES_VERSION"); done
      retry "$NETWORK_ATTEMPTS" dnf install -y --disableexcludes=kubernetes "${pins[@]}" ;;
    *) fail "unsupported OS ${ID:-unknown}" ;;
  esac
}
