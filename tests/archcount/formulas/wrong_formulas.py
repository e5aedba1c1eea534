"""Wrong formulas for the homework nets, each with the explanation worked out by hand.

Per-layer forms at S = 32 (`units`; docs/counting.md, checked by `archcount derive --per-layer`):
PoolUpsampleNet connections: layer1.0 1024k²NIC·NF, layer1.1 (pool) 1024NF, layer1.2 (BN)
256NF, layer2.0 512k²NF², layer2.1 512NF, layer2.2 128NF, layer3.0 128k²NF², layer3.1 (up)
256NF, layer3.2 256NF, layer4.0 256k²NF·NC, layer4.1 1024NC, layer4.2 1024NC, layer5
1024k²NC²; outputs: 1024NF, 256NF, 256NF, 512NF, 128NF, 128NF, 64NF, 256NF, 256NF, 256NC,
1024NC, 1024NC, 1024NC; weights: conv k²·C_in·C_out + C_out, BN 2C.
ConvTransposeNet: layer1.0 (conv s2, 16×16 out) 256k²NIC·NF, layer1.1 (BN) 256NF, layer2.0
(8×8) 128k²NF², layer2.1 128NF, layer3.0 (conv-T, 8×8 in) 128k²NF², layer3.1 256NF, layer4.0
(16×16 in) 256k²NF·NC, layer4.1 1024NC, layer5 1024k²NC²; outputs 256NF, 256NF, 128NF, 128NF,
256NF, 256NF, 1024NC, 1024NC, 1024NC. UNet: ConvTransposeNet with layer4.0 taking 2NF channels
(512k²NF·NC, weights 2k²NF·NC + NC) and layer5 NC + NIC (1024k²(NC² + NIC·NC)).

Each case: (id, net, fixed, quantity, your formula, amount, stories). `stories` lists one
fragment (or a tuple of fragments) per story the explanation must give: every story that fits
exactly, in its order. NOT_KNOWN means it must say it does not know, NOT_KNOWN_MANY that more
stories fit than it shows.
"""

NOT_KNOWN = "not known"
NOT_KNOWN_MANY = "not known which"

P_CONNECTIONS = "k^2(1024NIC NF + 640NF^2 + 256NF NC + 1024NC^2) + 2432NF + 2048NC"
P_WEIGHTS_K2 = "k^2(NIC NF + 4NF^2 + NF NC + NC^2)"
C_CONNECTIONS_K2 = "k^2(256NIC NF + 256NF^2 + 256NF NC + 1024NC^2)"
U_CONNECTIONS_K2 = "k^2(256NIC NF + 256NF^2 + 512NF NC + 1024NC^2 + 1024NIC NC)"
S32 = {"S": 32}
K3 = {"S": 32, "k": 3}

CASES = [
    # --- PoolUpsampleNet ---
    (
        "P-twice",
        "PoolUpsampleNet",
        S32,
        "connections",  # layer4.0 written twice
        "k^2(1024NIC NF + 640NF^2 + 512NF NC + 1024NC^2) + 2432NF + 2048NC",
        "extra 256NF·NC·k²",
        ["layer4.0 (Conv2d) counted twice"],
    ),
    (
        "P-left-out",
        "PoolUpsampleNet",
        S32,
        "connections",  # layer1.0 forgotten
        "k^2(640NF^2 + 256NF NC + 1024NC^2) + 2432NF + 2048NC",
        "missing 1024NIC·NF·k²",
        ["layer1.0 (Conv2d)"],
    ),
    (
        "P-bias-out",
        "PoolUpsampleNet",
        S32,
        "weights",  # the five conv biases NF+2NF+NF+NC+NC
        f"{P_WEIGHTS_K2} + 8NF + 2NC",
        "missing 4NF + 2NC",
        ["the Conv2d biases"],
    ),
    (
        "P-bias-twice",
        "PoolUpsampleNet",
        S32,
        "weights",
        f"{P_WEIGHTS_K2} + 16NF + 6NC",
        "extra 4NF + 2NC",
        ["the Conv2d biases (layer1.0, layer2.0, layer3.0, layer4.0, layer5) counted twice"],
    ),
    (
        "P-norm-weights",
        "PoolUpsampleNet",
        S32,
        "weights",  # BN: 2NF + 4NF + 2NF + 2NC
        f"{P_WEIGHTS_K2} + 4NF + 2NC",
        "missing 8NF + 2NC",
        ["the BatchNorm2d weights"],
    ),
    (
        "P-padding-k3",
        "PoolUpsampleNet",
        K3,
        "connections",  # layer5 unpadded: 30² · 9NC²
        "9216NIC NF + 5760NF^2 + 2304NF NC + 8100NC^2 + 2432NF + 2048NC",
        "missing 1116NC²",
        ["layer5 (Conv2d): yours 8100NC², derived 9216NC² (×225/256)"],
    ),
    (
        "P-padding-k",
        "PoolUpsampleNet",
        S32,
        "connections",  # layer5 unpadded: (33 − k)² taps
        "k^2(1024NIC NF + 640NF^2 + 256NF NC + NC^2 (33 - k)^2) + 2432NF + 2048NC",
        "off by",
        NOT_KNOWN,
    ),
    (
        "P-k-not-k2",
        "PoolUpsampleNet",
        S32,
        "weights",  # layer5's kernel k·NC² for k²·NC²
        "k^2(NIC NF + 4NF^2 + NF NC) + k NC^2 + 12NF + 4NC",
        "off by NC²·k² - NC²·k",
        ["layer5 (Conv2d) without its bias: yours NC²·k, derived NC²·k²"],
    ),
    (
        "P-swap-NIC-NF",
        "PoolUpsampleNet",
        S32,
        "outputs",  # layer1.0's 1024NF as 1024NIC
        "1024NIC + 1856NF + 3328NC",
        "off by -1024NIC + 1024NF",
        ["layer1.0 (Conv2d) with NIC and NF swapped"],
    ),
    (
        "P-off-by-one",
        "PoolUpsampleNet",
        S32,
        "connections",  # layer4.0 at 17×17, not 16×16
        "k^2(1024NIC NF + 640NF^2 + 289NF NC + 1024NC^2) + 2432NF + 2048NC",
        "extra 33NF·NC·k²",
        ["layer4.0 (Conv2d): yours 289NF·NC·k², derived 256NF·NC·k² (×289/256)"],
    ),
    (
        "P-wrong-quantity",
        "PoolUpsampleNet",
        S32,
        "connections",
        "2880NF + 3328NC",
        "off by",
        ["yours is the derived outputs, not the connections"],
    ),
    (
        "P-factor-2",
        "PoolUpsampleNet",
        S32,
        "connections",
        f"2({P_CONNECTIONS})",
        "extra k²(1024NIC·NF",
        [("every layer: yours k²(2048NIC·NF", "(×2)")],
    ),
    (
        "P-pool-power",
        "PoolUpsampleNet",
        S32,
        "connections",  # pools at K = 2 taps, not K² = 4
        "k^2(1024NIC NF + 640NF^2 + 256NF NC + 1024NC^2) + 1664NF + 2048NC",
        "missing 768NF",
        [
            "the MaxPool2d connections (layer1.1, layer2.1): yours 768NF, derived 1536NF (×1/2)",
            "layer1.1 (MaxPool2d): yours 256NF, derived 1024NF (×1/4)",
        ],
    ),  # 1024·(1 − 1/4) = 768 too
    (
        "P-two-left-out",  # layer1.0 and layer5 forgotten: no one change fits, two do
        "PoolUpsampleNet",
        S32,
        "connections",
        "k^2(640NF^2 + 256NF NC) + 2432NF + 2048NC",
        "missing k²(1024NIC·NF + 1024NC²)",
        ["layer1.0 (Conv2d), and layer5 (Conv2d)"],
    ),
    # --- ConvTransposeNet ---
    (
        "C-twice",
        "ConvTransposeNet",
        S32,
        "connections",  # layer3.0 = layer2.0 = 128k²NF²
        "k^2(256NIC NF + 384NF^2 + 256NF NC + 1024NC^2) + 640NF + 1024NC",
        "extra 128NF²·k²",
        ["layer2.0 (Conv2d) counted twice", "layer3.0 (ConvTranspose2d) counted twice"],
    ),
    (
        "C-left-out",
        "ConvTransposeNet",
        S32,
        "weights",  # layer1.0: k²NIC·NF + NF
        "k^2(4NF^2 + NF NC + NC^2) + 11NF + 4NC",
        "missing NIC·NF·k² + NF",
        ["layer1.0 (Conv2d)"],
    ),
    (
        "C-left-out-1024NC",
        "ConvTransposeNet",
        S32,
        "outputs",  # layer4.1; three rows are 1024NC
        "1280NF + 2048NC",
        "off by",
        NOT_KNOWN_MANY,
    ),  # + the runs layer4.0-4.1, 4.1-5 at ×1/2
    (
        "C-stride",
        "ConvTransposeNet",
        S32,
        "outputs",  # layer2.0 at stride 1: ×4 from there on
        "3584NF + 12288NC",
        "extra 2304NF + 9216NC",
        ["layer2.0 to layer5 (7 layers): yours 3072NF + 12288NC, derived 768NF + 3072NC (×4)"],
    ),
    (
        "C-stride-one-layer",
        "ConvTransposeNet",
        S32,
        "connections",  # layer1.0 at 32×32
        "k^2(1024NIC NF + 256NF^2 + 256NF NC + 1024NC^2) + 640NF + 1024NC",
        "extra 768NIC·NF·k²",
        ["layer1.0 (Conv2d): yours 1024NIC·NF·k², derived 256NIC·NF·k² (×4)"],
    ),
    (
        "C-transposed-as-conv",
        "ConvTransposeNet",
        S32,
        "connections",  # out·C_in·k² for layer4.0
        "k^2(256NIC NF + 256NF^2 + 1024NF NC + 1024NC^2) + 640NF + 1024NC",
        "extra 768NF·NC·k²",
        ["layer4.0 (ConvTranspose2d): yours 1024NF·NC·k², derived 256NF·NC·k²"],
    ),
    (
        "C-norm-weights",
        "ConvTransposeNet",
        S32,
        "weights",
        f"{P_WEIGHTS_K2} + 4NF + 2NC",
        "missing 8NF + 2NC",
        ["the BatchNorm2d weights"],
    ),
    (
        "C-k-not-k2",
        "ConvTransposeNet",
        S32,
        "connections",  # layer5: 1024k·NC²
        "k^2(256NIC NF + 256NF^2 + 256NF NC) + 1024k NC^2 + 640NF + 1024NC",
        "off by 1024NC²·k² - 1024NC²·k",
        ["layer5 (Conv2d): yours 1024NC²·k, derived 1024NC²·k²"],
    ),
    (
        "C-wrong-quantity",
        "ConvTransposeNet",
        S32,
        "connections",
        f"{P_WEIGHTS_K2} + 12NF + 4NC",
        "missing k²(255NIC·NF + 252NF²",
        ["yours is the derived weights, not the connections"],
    ),
    (
        "C-factor-half",
        "ConvTransposeNet",
        S32,
        "connections",
        "k^2(128NIC NF + 128NF^2 + 128NF NC + 512NC^2) + 320NF + 512NC",
        "missing k²(128NIC·NF",
        [("every layer: yours k²(128NIC·NF", "(×1/2)")],
    ),
    (
        "C-swap-NIC-NF",
        "ConvTransposeNet",
        S32,
        "weights",  # a BN's 2NF as 2NIC: two are 2NF
        f"{P_WEIGHTS_K2} + 10NF + 2NIC + 4NC",
        "off by -2NIC + 2NF",
        [
            "layer1.1 (BatchNorm2d) with NIC and NF swapped",
            "layer3.1 (BatchNorm2d) with NIC and NF swapped",
        ],
    ),
    (
        "C-one-bias",
        "ConvTransposeNet",
        S32,
        "weights",  # layer1.0's bias NF: four stories fit
        f"{P_WEIGHTS_K2} + 11NF + 4NC",
        "off by",
        NOT_KNOWN_MANY,
    ),
    # --- UNet ---
    (
        "U-skip",
        "UNet",
        S32,
        "connections",  # layer5 without the NIC skip channels
        "k^2(256NIC NF + 256NF^2 + 512NF NC + 1024NC^2) + 640NF + 1024NC",
        "missing 1024NIC·NC·k²",
        ["layer5 (Conv2d) with its term 1024NIC·NC·k² left out"],
    ),
    (
        "U-twice",
        "UNet",
        S32,
        "weights",  # layer4.0: 2k²NF·NC + NC
        "k^2(NIC NF + NIC NC + 4NF^2 + 4NF NC + NC^2) + 12NF + 5NC",
        "extra 2NF·NC·k² + NC",
        ["layer4.0 (ConvTranspose2d) counted twice"],
    ),
    (
        "U-convention",
        "UNet",
        S32,
        "outputs",  # the ReLUs' outputs equal the BatchNorms'
        "1920NF + 4096NC",
        "extra 640NF + 1024NC",
        [
            "the ReLU outputs (layer1.2, layer2.2, layer3.2, layer4.2), counted under `modules`, "
            "not under `units`",
            "the BatchNorm2d outputs (layer1.1, layer2.1, layer3.1, layer4.1) "
            "counted twice",  # and 128NF + 256NF + 256NF + 1024NC is 640NF + 1024NC as well:
            "layer2.1 to layer4.0 (4 layers): yours 1280NF + 2048NC, derived 640NF + 1024NC (×2)",
        ],
    ),
    (
        "U-transposed-as-conv",
        "UNet",
        S32,
        "connections",  # layer3.0 as out·C_in·k²: 512k²NF²
        f"{U_CONNECTIONS_K2} + 384k^2 NF^2 + 640NF + 1024NC",
        "extra 384NF²·k²",
        [
            "layer2.0 (Conv2d): yours 512NF²·k², derived 128NF²·k² (×4)",
            "layer3.0 (ConvTranspose2d): yours 512NF²·k², derived 128NF²·k² (×4)",
        ],
    ),
    (
        "U-off-by-one",
        "UNet",
        S32,
        "connections",  # layer1.0 at 15×15, not 16×16
        "k^2(225NIC NF + 256NF^2 + 512NF NC + 1024NC^2 + 1024NIC NC) + 640NF + 1024NC",
        "missing 31NIC·NF·k²",
        ["layer1.0 (Conv2d): yours 225NIC·NF·k², derived 256NIC·NF·k² (×225/256)"],
    ),
    (
        "U-factor-3",
        "UNet",
        S32,
        "connections",  # ×3 is no slip of size, stride or kernel
        f"3({U_CONNECTIONS_K2} + 640NF + 1024NC)",
        "off by",
        NOT_KNOWN,
    ),
]
