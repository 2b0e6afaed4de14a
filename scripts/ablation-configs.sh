# ablation-configs.sh: the configurations of the Improved-GAN ablation, one
# line each as `cfg NAME FLAGS...`, in the table's order. Sourced by
# scripts/ablation.sh and scripts/ablation-times.sh, which define cfg.
ablation_configs() {
    cfg plain
    cfg mbd --mbd 100,5
    cfg smooth --real-label 0.9
    cfg vbn --vbn
    cfg fm --feature-matching
    cfg hist --hist-avg 1e-3
    cfg all --mbd 100,5 --real-label 0.9 --vbn --feature-matching --hist-avg 1e-3
    cfg labels --mbd 100,5 --real-label 0.9 --vbn --feature-matching --hist-avg 1e-3 --k-plus-one
    cfg nofm --mbd 100,5 --real-label 0.9 --vbn --hist-avg 1e-3
}
